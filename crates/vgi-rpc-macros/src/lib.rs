//! Code generation for the vgi-rpc typed layer. Every macro expands to the
//! public API of `vgi_rpc_core::typed` (reached through the facade,
//! `::vgi_rpc`, unless `#[vgi(crate = "...")]` names another path); no
//! runtime logic lives here.
//!
//! * `#[derive(Params)]`: a struct is a method's parameter list.
//! * `#[derive(Row)]`: a struct is one row of a batch (and one value of a
//!   struct column).
//! * `#[service]`: a trait is a protocol; generates its registration and
//!   a typed client.

#![warn(missing_docs, unreachable_pub)]

mod attrs;
mod params;
mod row;
mod service;

use proc_macro::TokenStream;

/// Derive `MethodParams`: each field is a parameter column. Field docs and
/// `#[vgi(default = EXPR)]` reach the method definition (reflection);
/// `#[vgi(rename = "name")]` changes the wire name.
#[proc_macro_derive(Params, attributes(vgi))]
pub fn derive_params(input: TokenStream) -> TokenStream {
    params::derive(syn::parse_macro_input!(input as syn::DeriveInput)).unwrap_or_else(|e| e.to_compile_error()).into()
}

/// Derive `Row` (and `ArrowType`, so the struct nests as a struct column).
#[proc_macro_derive(Row, attributes(vgi))]
pub fn derive_row(input: TokenStream) -> TokenStream {
    row::derive(syn::parse_macro_input!(input as syn::DeriveInput)).unwrap_or_else(|e| e.to_compile_error()).into()
}

/// Turn a trait into a protocol: `#[service(protocol = "hello.v1", version = "1.0.0")]`.
///
/// Generates `<trait>_protocol(service) -> Protocol` and `<Trait>Client<C>`
/// over any `RpcClient`. Methods are unary unless marked
/// `#[vgi(producer)]` or `#[vgi(exchange)]`; an argument typed
/// `&CallContext` receives the call context; `#[vgi(params)]` on the only
/// other argument takes the whole parameter list as a `#[derive(Params)]`
/// struct; `#[vgi(default = EXPR)]` and `#[vgi(doc = "...")]` annotate
/// single arguments.
#[proc_macro_attribute]
pub fn service(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    service::expand(args, syn::parse_macro_input!(item as syn::ItemTrait))
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}
