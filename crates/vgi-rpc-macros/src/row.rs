//! `#[derive(Row)]`: `Row` plus `ArrowType` (a struct column) for a struct.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::DeriveInput;

use crate::attrs;
use crate::params::{arrow_bounds, cached_schema, named_fields};

pub(crate) fn derive(input: DeriveInput) -> syn::Result<TokenStream> {
    let krate = attrs::krate(attrs::parse(&input.attrs)?.krate);
    let t = quote!(#krate::typed);
    let p = quote!(#krate::typed::__private);
    let ident = &input.ident;
    let mut idents = Vec::new();
    let mut names = Vec::new();
    let mut types = Vec::new();
    for f in &named_fields(&input, "Row")?.named {
        let o = attrs::parse(&f.attrs)?;
        let field = f.ident.clone().ok_or_else(|| syn::Error::new_spanned(f, "unnamed field"))?;
        names.push(o.rename.unwrap_or_else(|| field.to_string()));
        idents.push(field);
        types.push(f.ty.clone());
    }
    let columns: Vec<_> = (0..idents.len()).map(|i| format_ident!("__column_{}", i)).collect();
    let indices = 0..idents.len();
    let bounded = arrow_bounds(&krate, &input.generics, &types);
    let (impl_generics, ty_generics, where_clause) = bounded.split_for_impl();
    let schema = cached_schema(
        &p,
        !input.generics.params.is_empty(),
        quote!(#p::Arc::new(#p::Schema::new(<Self as #t::Row>::fields()))),
    );
    Ok(quote! {
        impl #impl_generics #t::Row for #ident #ty_generics #where_clause {
            fn fields() -> #p::Fields {
                let fields: ::std::vec::Vec<#p::Field> = ::std::vec![#(#t::field::<#types>(#names)),*]; #p::Fields::from(fields)
            }
            fn schema() -> #p::SchemaRef {
                #schema
            }
            fn into_columns(rows: ::std::vec::Vec<Self>) -> ::std::result::Result<::std::vec::Vec<#p::ArrayRef>, #p::RpcError> {
                #(let mut #columns: ::std::vec::Vec<#types> = ::std::vec::Vec::with_capacity(rows.len());)*
                for row in rows {
                    #(#columns.push(row.#idents);)*
                }
                ::std::result::Result::Ok(::std::vec![#(<#types as #t::ArrowType>::into_array(#columns)?),*])
            }
            fn from_columns(columns: &[#p::ArrayRef], rows: usize) -> ::std::result::Result<::std::vec::Vec<Self>, #p::RpcError> {
                #(let mut #columns = #t::read_column::<#types>(columns, #indices, #names)?;)*
                (0..rows).map(|_| ::std::result::Result::Ok(Self { #(#idents: #t::next_value(&mut #columns)?),* })).collect()
            }
        }

        impl #impl_generics #t::ArrowType for #ident #ty_generics #where_clause {
            fn data_type() -> #p::DataType {
                #p::DataType::Struct(<Self as #t::Row>::fields())
            }
            fn into_array_opt(values: ::std::vec::Vec<::std::option::Option<Self>>) -> ::std::result::Result<#p::ArrayRef, #p::RpcError> {
                #t::struct_into_array(values)
            }
            fn from_array_opt(array: &dyn #p::Array) -> ::std::result::Result<::std::vec::Vec<::std::option::Option<Self>>, #p::RpcError> {
                #t::struct_from_array(array)
            }
        }
    })
}
