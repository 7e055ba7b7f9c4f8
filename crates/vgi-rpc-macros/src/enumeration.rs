//! `#[derive(Enum)]`: `Enum` plus `ArrowType` (a `dictionary<int16, utf8>`
//! column of member names) for an enum of unit variants.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

use crate::attrs;

pub(crate) fn derive(input: DeriveInput) -> syn::Result<TokenStream> {
    let options = attrs::parse(&input.attrs)?;
    let krate = attrs::krate(options.krate);
    let t = quote!(#krate::typed);
    let p = quote!(#krate::typed::__private);
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&input.generics, "#[derive(Enum)] does not support generic enums"));
    }
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(ident, "#[derive(Enum)] only applies to enums"));
    };
    let name = options.rename.unwrap_or_else(|| ident.to_string());
    let mut variants = Vec::new();
    let mut members = Vec::new();
    for v in &data.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(&v.ident, "#[derive(Enum)] needs unit variants (no fields)"));
        }
        members.push(attrs::parse(&v.attrs)?.rename.unwrap_or_else(|| v.ident.to_string()));
        variants.push(&v.ident);
    }
    let indices: Vec<usize> = (0..variants.len()).collect();
    Ok(quote! {
        impl #t::Enum for #ident {
            const NAME: &'static str = #name;
            const MEMBERS: &'static [&'static str] = &[#(#members),*];
            fn index(&self) -> usize {
                match *self { #(Self::#variants => #indices,)* }
            }
            fn from_index(index: usize) -> ::std::option::Option<Self> {
                match index {
                    #(#indices => ::std::option::Option::Some(Self::#variants),)*
                    _ => ::std::option::Option::None,
                }
            }
        }

        impl #t::ArrowType for #ident {
            fn data_type() -> #p::DataType {
                #t::enum_data_type()
            }
            fn into_array_opt(values: ::std::vec::Vec<::std::option::Option<Self>>) -> ::std::result::Result<#p::ArrayRef, #p::RpcError> {
                #t::enum_into_array(values)
            }
            fn from_array_opt(array: &dyn #p::Array) -> ::std::result::Result<::std::vec::Vec<::std::option::Option<Self>>, #p::RpcError> {
                #t::enum_from_array(array)
            }
        }
    })
}
