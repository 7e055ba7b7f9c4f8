//! Reading `#[vgi(...)]` options and doc comments.

use syn::{Attribute, Expr, LitStr, Path};

/// Options of one `#[vgi(...)]`-annotated item.
#[derive(Default)]
pub(crate) struct VgiAttrs {
    pub(crate) default: Option<Expr>,
    pub(crate) rename: Option<String>,
    pub(crate) doc: Option<String>,
    pub(crate) krate: Option<Path>,
    pub(crate) producer: bool,
    pub(crate) exchange: bool,
    pub(crate) params: bool,
}

/// Parse every `#[vgi(...)]` in `attrs`.
pub(crate) fn parse(attrs: &[Attribute]) -> syn::Result<VgiAttrs> {
    let mut out = VgiAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("vgi")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                out.default = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("rename") || meta.path.is_ident("name") {
                out.rename = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("doc") {
                out.doc = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("crate") {
                out.krate = Some(meta.value()?.parse::<LitStr>()?.parse()?);
            } else if meta.path.is_ident("producer") {
                out.producer = true;
            } else if meta.path.is_ident("exchange") {
                out.exchange = true;
            } else if meta.path.is_ident("params") {
                out.params = true;
            } else {
                return Err(meta
                    .error("unknown vgi option (expected default, rename, doc, crate, producer, exchange or params)"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The text of `///` comments, lines trimmed and joined by newlines.
pub(crate) fn doc(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

/// The runtime crate path: `#[vgi(crate = "...")]` or `::vgi_rpc`.
pub(crate) fn krate(path: Option<Path>) -> proc_macro2::TokenStream {
    match path {
        Some(p) => quote::quote!(#p),
        None => quote::quote!(::vgi_rpc),
    }
}

/// Drop `#[vgi(...)]` attributes (they are inert only to this crate).
pub(crate) fn strip(attrs: &mut Vec<Attribute>) {
    attrs.retain(|a| !a.path().is_ident("vgi"));
}
