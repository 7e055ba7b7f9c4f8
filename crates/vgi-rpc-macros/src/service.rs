//! `#[service]`: a trait becomes a protocol registration function and a
//! typed client.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{
    FnArg, GenericArgument, Ident, ItemTrait, LitStr, Meta, Pat, PathArguments, ReturnType, Token, TraitItem, Type,
};

use crate::attrs;
use crate::params::{params_impl, ParamSpec};

/// `protocol = "...", version = "...", crate = "..."`.
struct ServiceArgs {
    protocol: Option<String>,
    version: Option<String>,
    krate: Option<syn::Path>,
}

fn parse_args(args: TokenStream) -> syn::Result<ServiceArgs> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut out = ServiceArgs { protocol: None, version: None, krate: None };
    for meta in metas {
        let Meta::NameValue(nv) = &meta else {
            return Err(syn::Error::new_spanned(meta, "expected `key = \"value\"`"));
        };
        let value: LitStr = match &nv.value {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => s.clone(),
            other => return Err(syn::Error::new_spanned(other, "expected a string literal")),
        };
        if nv.path.is_ident("protocol") || nv.path.is_ident("name") {
            out.protocol = Some(value.value());
        } else if nv.path.is_ident("version") {
            out.version = Some(value.value());
        } else if nv.path.is_ident("crate") {
            out.krate = Some(value.parse()?);
        } else {
            return Err(syn::Error::new_spanned(
                &nv.path,
                "unknown service option (expected protocol, version or crate)",
            ));
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Unary,
    Producer,
    Exchange,
}

/// How one trait argument is fed.
enum Arg {
    Context,
    Param(Box<ParamSpec>),
    Whole(Ident, Box<Type>),
}

struct Method {
    ident: Ident,
    wire: String,
    doc: String,
    kind: Kind,
    args: Vec<Arg>,
    /// `T` of the declared `Result<T, RpcError>`.
    value: Type,
    params_struct: Ident,
}

fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => match r.elem.as_ref() {
            Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "CallContext"),
            _ => false,
        },
        _ => false,
    }
}

/// The first type argument of the return type (`Result<T, E>` → `T`).
fn returned_value(output: &ReturnType) -> syn::Result<Type> {
    let err = || syn::Error::new_spanned(output, "service methods return `Result<T, RpcError>` (or `RpcResult<T>`)");
    let ReturnType::Type(_, ty) = output else { return Err(err()) };
    let Type::Path(path) = ty.as_ref() else { return Err(err()) };
    let segment = path.path.segments.last().ok_or_else(err)?;
    let PathArguments::AngleBracketed(args) = &segment.arguments else { return Err(err()) };
    args.args
        .iter()
        .find_map(|a| match a {
            GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        })
        .ok_or_else(err)
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn camel(name: &str) -> String {
    name.split('_').filter(|p| !p.is_empty()).map(|p| p[..1].to_uppercase() + &p[1..]).collect()
}

fn read_method(trait_ident: &Ident, f: &mut syn::TraitItemFn) -> syn::Result<Method> {
    let options = attrs::parse(&f.attrs)?;
    attrs::strip(&mut f.attrs);
    let kind = match (options.producer, options.exchange) {
        (false, false) => Kind::Unary,
        (true, false) => Kind::Producer,
        (false, true) => Kind::Exchange,
        (true, true) => {
            return Err(syn::Error::new_spanned(&f.sig.ident, "a method is a producer or an exchange, not both"))
        }
    };
    let sig = &mut f.sig;
    if !matches!(sig.inputs.first(), Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none()) {
        return Err(syn::Error::new_spanned(&sig.ident, "service methods take `&self`"));
    }
    let mut args = Vec::new();
    for input in sig.inputs.iter_mut().skip(1) {
        let FnArg::Typed(pat) = input else { continue };
        let o = attrs::parse(&pat.attrs)?;
        attrs::strip(&mut pat.attrs);
        let Pat::Ident(name) = pat.pat.as_ref() else {
            return Err(syn::Error::new_spanned(&pat.pat, "service method arguments must be plain names"));
        };
        let ident = name.ident.clone();
        if is_context(&pat.ty) {
            args.push(Arg::Context);
        } else if o.params {
            args.push(Arg::Whole(ident, pat.ty.clone()));
        } else {
            let wire = o.rename.unwrap_or_else(|| ident.to_string().trim_start_matches('_').to_owned());
            args.push(Arg::Param(Box::new(ParamSpec {
                ident,
                name: wire,
                ty: (*pat.ty).clone(),
                default: o.default,
                doc: o.doc.unwrap_or_default(),
            })));
        }
    }
    let wholes = args.iter().filter(|a| matches!(a, Arg::Whole(..))).count();
    let singles = args.iter().filter(|a| matches!(a, Arg::Param(..))).count();
    if wholes > 1 || (wholes == 1 && singles > 0) {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            "a `#[vgi(params)]` argument must be the only parameter argument",
        ));
    }
    let params_struct = format_ident!("__{}{}Params", trait_ident, camel(&sig.ident.to_string()));
    Ok(Method {
        wire: options.rename.unwrap_or_else(|| sig.ident.to_string()),
        ident: sig.ident.clone(),
        doc: attrs::doc(&f.attrs),
        kind,
        args,
        value: returned_value(&sig.output)?,
        params_struct,
    })
}

pub(crate) fn expand(args: TokenStream, mut item: ItemTrait) -> syn::Result<TokenStream> {
    let options = parse_args(args)?;
    let krate = attrs::krate(options.krate);
    let t = quote!(#krate::typed);
    let p = quote!(#krate::typed::__private);
    let trait_ident = item.ident.clone();
    let vis = item.vis.clone();
    let protocol = options.protocol.unwrap_or_else(|| trait_ident.to_string());
    let mut methods = Vec::new();
    for entry in &mut item.items {
        if let TraitItem::Fn(f) = entry {
            methods.push(read_method(&trait_ident, f)?);
        }
    }

    let mut structs = Vec::new();
    let mut registrations = Vec::new();
    let mut client_methods = Vec::new();
    for m in &methods {
        let (ident, wire, doc, value) = (&m.ident, &m.wire, &m.doc, &m.value);
        let singles: Vec<&ParamSpec> =
            m.args.iter().filter_map(|a| if let Arg::Param(s) = a { Some(s.as_ref()) } else { None }).collect();
        let whole = m.args.iter().find_map(|a| if let Arg::Whole(i, ty) = a { Some((i, ty)) } else { None });
        let params_ty = match whole {
            Some((_, ty)) => quote!(#ty),
            None => {
                let s = &m.params_struct;
                let fields = singles.iter().map(|spec| {
                    let (i, ty) = (&spec.ident, &spec.ty);
                    quote!(pub #i: #ty)
                });
                let specs: Vec<ParamSpec> = singles
                    .iter()
                    .map(|spec| ParamSpec {
                        ident: spec.ident.clone(),
                        name: spec.name.clone(),
                        ty: spec.ty.clone(),
                        default: spec.default.clone(),
                        doc: spec.doc.clone(),
                    })
                    .collect();
                let imp = params_impl(&krate, s, &syn::Generics::default(), &specs);
                structs.push(quote! {
                    #[doc(hidden)]
                    #[allow(non_camel_case_types)]
                    #vis struct #s { #(#fields),* }
                    #imp
                });
                quote!(#s)
            }
        };
        let call_args = m.args.iter().map(|a| match a {
            Arg::Context => quote!(ctx),
            Arg::Param(s) => {
                let i = &s.ident;
                quote!(params.#i)
            }
            Arg::Whole(..) => quote!(params),
        });
        let finish = match m.kind {
            Kind::Unary => quote!(typed_unary),
            Kind::Producer => quote!(typed_producer),
            Kind::Exchange => quote!(typed_exchange),
        };
        registrations.push(quote! {
            .method({
                let service = #p::Arc::clone(&service);
                #p::MethodDef::builder(#wire).doc(#doc).#finish(
                    move |params: #params_ty, ctx: &#p::CallContext| -> ::std::result::Result<#value, #p::RpcError> {
                        let _ = &ctx;
                        service.#ident(#(#call_args),*)
                    },
                )
            })
        });

        let client_args: Vec<TokenStream> = m
            .args
            .iter()
            .filter_map(|a| match a {
                Arg::Context => None,
                Arg::Param(s) => {
                    let (i, ty) = (&s.ident, &s.ty);
                    Some(quote!(#i: #ty))
                }
                Arg::Whole(i, ty) => Some(quote!(#i: #ty)),
            })
            .collect();
        let build = match whole {
            Some((i, _)) => quote!(#i),
            None => {
                let s = &m.params_struct;
                let names = singles.iter().map(|spec| &spec.ident);
                quote!(#s { #(#names),* })
            }
        };
        let client_doc = if doc.is_empty() { format!("Call `{wire}`.") } else { doc.clone() };
        client_methods.push(match m.kind {
            Kind::Unary => quote! {
                #[doc = #client_doc]
                pub fn #ident(&mut self, #(#client_args),*) -> ::std::result::Result<#value, #p::CallError> {
                    #t::call_unary::<C, #params_ty, #value>(&mut self.client, Self::PROTOCOL, #wire, #build)
                }
            },
            Kind::Producer => quote! {
                #[doc = #client_doc]
                pub fn #ident(&mut self, #(#client_args),*)
                    -> ::std::result::Result<#t::TypedProducer<'_, <#value as #t::Producer>::Row>, #p::CallError>
                {
                    #t::open_producer::<C, #params_ty, <#value as #t::Producer>::Row>(&mut self.client, Self::PROTOCOL, #wire, #build)
                }
            },
            Kind::Exchange => quote! {
                #[doc = #client_doc]
                pub fn #ident(&mut self, #(#client_args),*)
                    -> ::std::result::Result<
                        #t::TypedExchange<'_, <#value as #t::Exchange>::Input, <#value as #t::Exchange>::Output>,
                        #p::CallError,
                    >
                {
                    #t::open_exchange::<C, #params_ty, <#value as #t::Exchange>::Input, <#value as #t::Exchange>::Output>(
                        &mut self.client, Self::PROTOCOL, #wire, #build,
                    )
                }
            },
        });
    }

    let protocol_fn = format_ident!("{}_protocol", snake(&trait_ident.to_string()));
    let client = format_ident!("{}Client", trait_ident);
    let version_call = options.version.as_ref().map(|v| quote!(.version(#v)));
    let set_version =
        options.version.as_ref().map(|v| quote!(#t::RpcClient::set_protocol_version(&mut client, #protocol, #v);));
    let protocol_doc = format!("The `{protocol}` protocol served by `service` (generated from [`{trait_ident}`]).");
    let client_doc = format!(
        "A typed client of `{protocol}` over any [`RpcClient`]({}::typed::RpcClient) transport.",
        krate.to_string().replace(' ', "")
    );
    Ok(quote! {
        #item

        #(#structs)*

        #[doc = #protocol_doc]
        #vis fn #protocol_fn<S: #trait_ident + ::std::marker::Send + ::std::marker::Sync + 'static>(service: S) -> #p::Protocol {
            let service = #p::Arc::new(service);
            #p::Protocol::new(#protocol) #version_call #(#registrations)*
        }

        #[doc = #client_doc]
        #vis struct #client<C> {
            client: C,
        }

        impl<C: #t::RpcClient> #client<C> {
            /// The protocol's wire name.
            pub const PROTOCOL: &'static str = #protocol;

            /// Wrap a client of any transport.
            #[allow(unused_mut)]
            pub fn new(mut client: C) -> Self {
                #set_version
                Self { client }
            }

            /// The transport client underneath.
            pub fn inner_mut(&mut self) -> &mut C {
                &mut self.client
            }

            /// Unwrap the transport client.
            pub fn into_inner(self) -> C {
                self.client
            }

            #(#client_methods)*
        }
    })
}
