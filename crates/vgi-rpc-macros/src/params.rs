//! `#[derive(Params)]`, and the parameter-list code `#[service]` reuses.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Expr, Fields, Generics, Ident, Type};

use crate::attrs;

/// One parameter: Rust field, wire name, type, default, doc.
pub(crate) struct ParamSpec {
    pub(crate) ident: Ident,
    pub(crate) name: String,
    pub(crate) ty: Type,
    pub(crate) default: Option<Expr>,
    pub(crate) doc: String,
}

/// Named fields of a struct, or an error pointing at `input`.
pub(crate) fn named_fields<'a>(input: &'a DeriveInput, derive: &str) -> syn::Result<&'a syn::FieldsNamed> {
    match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => Ok(named),
            Fields::Unit => Err(syn::Error::new_spanned(
                &input.ident,
                format!("#[derive({derive})] needs named fields; use `{{}}`"),
            )),
            Fields::Unnamed(_) => {
                Err(syn::Error::new_spanned(&input.ident, format!("#[derive({derive})] needs named fields")))
            }
        },
        _ => Err(syn::Error::new_spanned(&input.ident, format!("#[derive({derive})] only applies to structs"))),
    }
}

pub(crate) fn derive(input: DeriveInput) -> syn::Result<TokenStream> {
    let options = attrs::parse(&input.attrs)?;
    let krate = attrs::krate(options.krate);
    let specs = named_fields(&input, "Params")?
        .named
        .iter()
        .map(|f| {
            let o = attrs::parse(&f.attrs)?;
            let ident = f.ident.clone().ok_or_else(|| syn::Error::new_spanned(f, "unnamed field"))?;
            let doc = o.doc.unwrap_or_else(|| attrs::doc(&f.attrs));
            Ok(ParamSpec {
                name: o.rename.unwrap_or_else(|| ident.to_string()),
                ident,
                ty: f.ty.clone(),
                default: o.default,
                doc,
            })
        })
        .collect::<syn::Result<Vec<_>>>()?;
    Ok(params_impl(&krate, &input.ident, &input.generics, &specs))
}

/// The generics of an impl for a possibly generic type: every field type
/// must be an `ArrowType` (added only for generic types, so a field of a
/// non-Arrow type is reported at the field, not at a where-clause).
pub(crate) fn arrow_bounds<'a>(
    krate: &TokenStream,
    generics: &Generics,
    field_types: impl IntoIterator<Item = &'a Type>,
) -> Generics {
    let mut generics = generics.clone();
    if !generics.params.is_empty() {
        let clause = generics.make_where_clause();
        for ty in field_types {
            clause.predicates.push(syn::parse_quote!(#ty: #krate::typed::ArrowType));
        }
    }
    generics
}

/// The body of a `schema()` whose schema `build` makes: built once for a
/// plain type; rebuilt per call for a generic one (a `static` in a generic
/// function is shared by every instantiation).
pub(crate) fn cached_schema(p: &TokenStream, generic: bool, build: TokenStream) -> TokenStream {
    if generic {
        quote!(#build)
    } else {
        quote! {
            static SCHEMA: #p::OnceLock<#p::SchemaRef> = #p::OnceLock::new();
            SCHEMA.get_or_init(|| #build).clone()
        }
    }
}

/// `impl MethodParams for #ident` over `specs`.
pub(crate) fn params_impl(krate: &TokenStream, ident: &Ident, generics: &Generics, specs: &[ParamSpec]) -> TokenStream {
    let t = quote!(#krate::typed);
    let p = quote!(#krate::typed::__private);
    let bounded = arrow_bounds(krate, generics, specs.iter().map(|s| &s.ty));
    let (impl_generics, ty_generics, where_clause) = bounded.split_for_impl();
    let fields = specs.iter().map(|s| {
        let (name, ty) = (&s.name, &s.ty);
        quote!(#t::field::<#ty>(#name))
    });
    let defaults = specs.iter().filter_map(|s| {
        let (name, expr) = (&s.name, s.default.as_ref()?);
        Some(quote!((::std::string::String::from(#name), #p::serde_json::to_value(&(#expr)).unwrap_or(#p::serde_json::Value::Null))))
    });
    let docs = specs.iter().filter(|s| !s.doc.is_empty()).map(|s| {
        let (name, doc) = (&s.name, &s.doc);
        quote!((::std::string::String::from(#name), ::std::string::String::from(#doc)))
    });
    let reads = specs.iter().map(|s| {
        let (field, name, ty) = (&s.ident, &s.name, &s.ty);
        match &s.default {
            Some(expr) => quote!(#field: #t::param_or::<#ty>(params, #name, || ::std::convert::Into::into(#expr))?),
            None => quote!(#field: #t::param::<#ty>(params, #name)?),
        }
    });
    let columns = specs.iter().map(|s| {
        let (field, ty) = (&s.ident, &s.ty);
        quote!(<#ty as #t::ArrowType>::into_array(::std::vec![self.#field])?)
    });
    let schema = cached_schema(
        &p,
        !generics.params.is_empty(),
        quote!({ let fields: ::std::vec::Vec<#p::Field> = ::std::vec![#(#fields),*]; #p::Arc::new(#p::Schema::new(fields)) }),
    );
    quote! {
        impl #impl_generics #t::MethodParams for #ident #ty_generics #where_clause {
            fn schema() -> #p::SchemaRef {
                #schema
            }
            fn defaults() -> ::std::vec::Vec<(::std::string::String, #p::serde_json::Value)> {
                ::std::vec![#(#defaults),*]
            }
            fn docs() -> ::std::vec::Vec<(::std::string::String, ::std::string::String)> {
                ::std::vec![#(#docs),*]
            }
            fn from_params(params: &#p::Params<'_>) -> ::std::result::Result<Self, #p::RpcError> {
                ::std::result::Result::Ok(Self { #(#reads),* })
            }
            fn into_batch(self) -> ::std::result::Result<#p::RecordBatch, #p::RpcError> {
                #t::params_batch(<Self as #t::MethodParams>::schema(), ::std::vec![#(#columns),*])
            }
        }
    }
}
