//! `#[derive(Layout)]`: a deep layout fingerprint of a user type, so a
//! reload that would hand old data to new code with another field order is
//! refused.
//!
//! For `struct World { cells: Vec<u8>, width: u32 }` the output is
//!
//! ```text
//! impl Layout for World {
//!     fn layout(hasher: &mut LayoutHasher) {
//!         hasher.nested::<Self>(|hasher| {
//!             hasher.tag("struct");
//!             hasher.field("cells", offset_of!(Self, cells), |hasher| <probe Vec<u8>>);
//!             hasher.field("width", offset_of!(Self, width), |hasher| <probe u32>);
//!         });
//!     }
//! }
//! ```
//!
//! Each field type goes through the same probe as `#[hot]`'s signature
//! types: deep if it implements `Layout`, else name, size and alignment.
//! Enum variants have no stable `offset_of!`; their fields are fed by name
//! and type, in order, next to the enum's size and alignment.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Data, DeriveInput, Fields};

use crate::attr::Args;
use crate::probe::{probe, probe_traits};

pub fn layout(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(error) => error.into_compile_error(),
    }
}

fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let mut args = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("layout")) {
        let list = attr.meta.require_list()?;
        if args.is_some() {
            return Err(syn::Error::new_spanned(attr, "`#[layout]` is given twice"));
        }
        args = Some(Args::parse("layout", list.tokens.clone())?);
    }
    let krate = args.unwrap_or_default().krate;
    let private = quote!(#krate::__private);
    // `#[repr(C)]`, `#[repr(u8)]`... change the layout: feed them too.
    let reprs: Vec<String> = input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("repr"))
        .map(|a| a.meta.to_token_stream().to_string())
        .collect();
    let body = match &input.data {
        Data::Struct(data) => {
            let fields = fields(&private, &data.fields, true);
            quote!(hasher.tag("struct"); #fields)
        }
        Data::Union(data) => {
            let fields = fields(&private, &Fields::Named(data.fields.clone()), true);
            quote!(hasher.tag("union"); #fields)
        }
        Data::Enum(data) => {
            let variants = data.variants.iter().map(|variant| {
                let name = variant.ident.to_string();
                let fields = fields(&private, &variant.fields, false);
                let discriminant = variant
                    .discriminant
                    .as_ref()
                    .map(|(_, expr)| expr.to_token_stream().to_string())
                    .unwrap_or_default();
                quote! {
                    hasher.tag(#name);
                    hasher.tag(#discriminant);
                    #fields
                }
            });
            quote!(hasher.tag("enum"); #(#variants)*)
        }
    };

    let name = &input.ident;
    let mut generics = input.generics.clone();
    // A generic field is fingerprinted deeply only if its type is `Layout`;
    // asking for it keeps the probe's choice at the use site, not here.
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(#krate::Layout));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let traits = probe_traits(&private);
    Ok(quote! {
        impl #impl_generics #krate::Layout for #name #ty_generics #where_clause {
            fn layout(hasher: &mut #krate::LayoutHasher) {
                #traits
                hasher.nested::<Self>(|hasher| {
                    #(hasher.tag(#reprs);)*
                    #body
                });
            }
        }
    })
}

/// Feeds every field: name (or index), offset when `offsets`, and type.
fn fields(private: &TokenStream, fields: &Fields, offsets: bool) -> TokenStream {
    let fields = fields.iter().enumerate().map(|(index, field)| {
        let member: syn::Member = match &field.ident {
            Some(ident) => ident.clone().into(),
            None => syn::Index::from(index).into(),
        };
        let name = member.to_token_stream().to_string();
        let ty = &field.ty;
        let offset = if offsets {
            quote!(::core::mem::offset_of!(Self, #member))
        } else {
            quote!(#index)
        };
        let probe = probe(private, ty);
        quote! {
            hasher.field(#name, #offset, #probe);
        }
    });
    quote!(#(#fields)*)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty(tokens: TokenStream) -> String {
        prettyplease::unparse(&syn::parse2(tokens).unwrap())
    }

    #[test]
    fn struct_fields_by_name_offset_and_type() {
        insta::assert_snapshot!(pretty(layout(quote! {
            #[repr(C)]
            struct World { cells: Vec<u8>, width: u32 }
        })));
    }

    #[test]
    fn generic_tuple_struct_and_enum() {
        insta::assert_snapshot!(pretty(layout(quote! {
            #[layout(crate = "engine::hot")]
            struct Pair<T>(T, u8);
        })));
        insta::assert_snapshot!(pretty(layout(quote! {
            enum Shape { Dot, Circle { r: f32 }, Line(f32, f32) = 7 }
        })));
    }

    #[test]
    fn a_bad_argument_is_an_error() {
        let out = layout(quote! {
            #[layout(krate = "x")]
            struct A;
        })
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("unknown argument to #[layout]"), "{out}");
    }
}
