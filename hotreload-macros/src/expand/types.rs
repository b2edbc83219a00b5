//! Helpers over types and tokens: lifetimes, and signatures as text.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::Type;
use syn::visit_mut::VisitMut;

/// Whether a type has a reference or a named lifetime in it: such a trait
/// path takes no helper trait.
pub(super) fn has_lifetime(ty: &Type) -> bool {
    struct Find(bool);
    impl<'a> syn::visit::Visit<'a> for Find {
        fn visit_lifetime(&mut self, _: &'a syn::Lifetime) {
            self.0 = true;
        }
        fn visit_type_reference(&mut self, _: &'a syn::TypeReference) {
            self.0 = true;
        }
    }
    let mut find = Find(false);
    syn::visit::Visit::visit_type(&mut find, ty);
    find.0
}

/// Whether a result of type `ty` may borrow from the arguments: a
/// reference or a lifetime in it other than `'static` (`&'static str` and
/// `Cow<'static, str>` borrow nothing). Such a result cannot come out of
/// the closure that retries a call when it borrows from a `&mut` argument
/// (`HotFn::after_rollback`).
pub(super) fn may_borrow(ty: &Type) -> bool {
    struct Find(bool);
    impl<'a> syn::visit::Visit<'a> for Find {
        fn visit_lifetime(&mut self, lifetime: &'a syn::Lifetime) {
            self.0 |= lifetime.ident != "static";
        }
        fn visit_type_reference(&mut self, reference: &'a syn::TypeReference) {
            match &reference.lifetime {
                Some(lifetime) if lifetime.ident == "static" => self.visit_type(&reference.elem),
                _ => self.0 = true,
            }
        }
    }
    let mut find = Find(false);
    syn::visit::Visit::visit_type(&mut find, ty);
    find.0
}

/// `node` without its lifetimes, for names: `Options<'a>` is `Options`,
/// `&'a App` is `&App`.
pub(super) fn without_lifetimes(node: &impl ToTokens) -> TokenStream {
    struct Strip;
    impl VisitMut for Strip {
        fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
            reference.lifetime = None;
            syn::visit_mut::visit_type_reference_mut(self, reference);
        }
        fn visit_path_arguments_mut(&mut self, arguments: &mut syn::PathArguments) {
            if let syn::PathArguments::AngleBracketed(angle) = arguments {
                angle.args = angle
                    .args
                    .iter()
                    .filter(|arg| !matches!(arg, syn::GenericArgument::Lifetime(_)))
                    .cloned()
                    .collect();
                if angle.args.is_empty() {
                    *arguments = syn::PathArguments::None;
                    return;
                }
            }
            syn::visit_mut::visit_path_arguments_mut(self, arguments);
        }
    }
    // A trait path is a type too.
    let Ok(mut ty) = syn::parse2::<Type>(node.to_token_stream()) else {
        return node.to_token_stream();
    };
    Strip.visit_type_mut(&mut ty);
    ty.into_token_stream()
}

/// Replaces every lifetime with `'static`, so a type from the signature can
/// be named inside the function body.
pub(super) struct StaticLifetimes;

impl VisitMut for StaticLifetimes {
    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        *lifetime = syn::Lifetime::new("'static", Span::call_site());
    }
}

/// Tokens as a string without the spaces `TokenStream` puts between every
/// token: `fn(&mut World, f32) -> i32`.
pub fn compact(tokens: &impl ToTokens) -> String {
    compact_text(&tokens.to_token_stream().to_string())
}

/// [`compact`] of printed tokens. The compiler's printer breaks long token
/// streams into lines: one line here (a signature in a message).
pub(super) fn compact_text(printed: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '\'';
    let spaced: String = printed
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let mut out = String::with_capacity(spaced.len());
    let mut chars = spaced.chars().peekable();
    while let Some(c) = chars.next() {
        let prev = out.chars().last().unwrap_or(' ');
        let next = chars.peek().copied().unwrap_or(' ');
        if c != ' ' || word(prev) && word(next) || prev == ',' || prev == '>' && word(next) {
            out.push(c);
        }
    }
    out.replace("->", " -> ").replace("  ", " ")
}
