//! Code generation for the vgi-rpc typed layer. Every macro expands to the
//! public API of `vgi_rpc_core::typed` (reached through the facade,
//! `::vgi_rpc`, unless `#[vgi(crate = "...")]` names another path); no
//! runtime logic lives here.
//!
//! * `#[derive(Params)]`: a struct is a method's parameter list.
//! * `#[derive(Row)]`: a struct is one row of a batch (and one value of a
//!   struct column).
//! * `#[derive(Enum)]`: an enum of unit variants is a column of member
//!   names (`dictionary<int16, utf8>`).
//! * `#[service]`: a trait is a protocol; generates its registration and
//!   a typed client.

#![warn(missing_docs, unreachable_pub)]

mod attrs;
mod enumeration;
mod params;
mod row;
mod service;

use proc_macro::TokenStream;

/// Derive `MethodParams`: each field is a parameter column. Field docs and
/// `#[vgi(default = EXPR)]` reach the method definition (reflection);
/// `#[vgi(rename = "name")]` changes the wire name. A generic struct
/// (`struct One<T> { value: T }`) gets an impl for every `T` that is an
/// `ArrowType`.
#[proc_macro_derive(Params, attributes(vgi))]
pub fn derive_params(input: TokenStream) -> TokenStream {
    params::derive(syn::parse_macro_input!(input as syn::DeriveInput)).unwrap_or_else(|e| e.to_compile_error()).into()
}

/// Derive `Row` (and `ArrowType`, so the struct nests as a struct column).
#[proc_macro_derive(Row, attributes(vgi))]
pub fn derive_row(input: TokenStream) -> TokenStream {
    row::derive(syn::parse_macro_input!(input as syn::DeriveInput)).unwrap_or_else(|e| e.to_compile_error()).into()
}

/// Derive `Enum` (and `ArrowType`) for an enum of unit variants: values
/// travel as member names in a `dictionary<int16, utf8>` column whose
/// dictionary is every member in declaration order. `#[vgi(rename =
/// "NAME")]` on a variant sets its wire name, on the enum the name errors
/// use (`'X' is not a valid NAME`).
#[proc_macro_derive(Enum, attributes(vgi))]
pub fn derive_enum(input: TokenStream) -> TokenStream {
    enumeration::derive(syn::parse_macro_input!(input as syn::DeriveInput))
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
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
