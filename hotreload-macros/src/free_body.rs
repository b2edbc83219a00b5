//! A trait method's body as a free function: a trait impl cannot hold the
//! extra function a hot method's body needs (and its self type may not
//! take an inherent impl: `&App`, a type of another crate), so the body
//! moves to a function beside it, with `self` renamed `__hot_self` and
//! `Self` spelled out.

use proc_macro2::{Group, Ident, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{FnArg, ReceiverKind, Signature, Type};

use crate::signature::as_path_start;

/// What `Self` means in the body.
pub struct SelfIs<'a> {
    /// The self type, its anonymous lifetimes named.
    pub ty: &'a Type,
    /// The trait, and the names of the items the impl defines: `Self::Name`
    /// is `<Type as Trait>::Name` (an associated type could not be found
    /// from the bare type).
    pub trait_: &'a syn::Path,
    pub names: &'a [syn::Ident],
}

/// The receiver's parameter: `__hot_self: &'a mut Type`.
fn receiver_param(receiver: &syn::Receiver, self_is: &SelfIs<'_>) -> TokenStream {
    let ty = self_is.ty;
    let name = Ident::new("__hot_self", receiver.self_token.span);
    let mutability = &receiver.mutability;
    match &receiver.kind {
        ReceiverKind::Reference(and, lifetime, reference_mut) => {
            // Named, so that elided output lifetimes can take it (see
            // `expand::body::receiver_lifetime`).
            let lifetime = lifetime
                .clone()
                .unwrap_or_else(|| syn::Lifetime::new("'__hot_r", receiver.self_token.span));
            quote!(#mutability #name: #and #lifetime #reference_mut #ty)
        }
        ReceiverKind::Typed(_, typed) => {
            let typed = rewrite(typed.to_token_stream(), self_is);
            quote!(#mutability #name: #typed)
        }
        _ => quote!(#mutability #name: #ty),
    }
}

/// The signature's inputs as a free function's parameters.
pub fn params(sig: &Signature, self_is: &SelfIs<'_>) -> TokenStream {
    let params = sig.inputs.iter().map(|arg| match arg {
        FnArg::Receiver(receiver) => receiver_param(receiver, self_is),
        FnArg::Typed(pat_type) => rewrite(pat_type.to_token_stream(), self_is),
    });
    quote!(#(#params),*)
}

/// Keywords that start a nested item, whose `self` and `Self` are its own.
const NESTED_ITEMS: &[&str] = &["fn", "impl", "trait", "mod", "struct", "enum", "union"];

/// `tokens` with `self` (not `self::`) renamed and `Self` spelled out;
/// nested items (a `fn` or `impl` inside the body) are left as they are.
pub fn rewrite(tokens: TokenStream, self_is: &SelfIs<'_>) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let path_follows = |i: usize| {
        matches!(
            (tokens.get(i + 1), tokens.get(i + 2)),
            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                if a.as_char() == ':' && b.as_char() == ':'
        )
    };
    let mut out = TokenStream::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        match token {
            TokenTree::Ident(ident)
                if NESTED_ITEMS.iter().any(|k| ident == k)
                    && (ident == "impl"
                        || matches!(tokens.get(i + 1), Some(TokenTree::Ident(_)))) =>
            {
                // Through the item's braces (or `;`), as written.
                let end = tokens[i..]
                    .iter()
                    .position(|t| match t {
                        TokenTree::Group(g) => g.delimiter() == proc_macro2::Delimiter::Brace,
                        TokenTree::Punct(p) => p.as_char() == ';',
                        _ => false,
                    })
                    .map_or(tokens.len(), |n| i + n + 1);
                out.extend(tokens[i..end].iter().cloned());
                i = end;
                continue;
            }
            TokenTree::Ident(ident) if ident == "self" && !path_follows(i) => {
                out.extend([TokenTree::Ident(Ident::new("__hot_self", ident.span()))]);
            }
            TokenTree::Ident(ident) if ident == "Self" => {
                let item = match tokens.get(i + 3) {
                    Some(TokenTree::Ident(name)) if path_follows(i) => Some(name),
                    _ => None,
                };
                let ty = self_is.ty;
                if item.is_some_and(|name| names_trait_item(name, self_is.names)) {
                    let trait_ = self_is.trait_;
                    out.extend(quote!(<#ty as #trait_>));
                } else {
                    out.extend(spelled(ty, path_follows(i)));
                }
            }
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), rewrite(group.stream(), self_is));
                inner.set_span(group.span());
                out.extend([TokenTree::Group(inner)]);
            }
            other => out.extend([other.clone()]),
        }
        i += 1;
    }
    out
}

/// Whether `Self::name` in a trait impl means the trait's item: one the
/// impl defines. Anything else (`Self::new()`, `Self::Variant`, an inherent
/// `Self::MAX`) is looked up on the type, with the trait in scope. (An
/// associated type of a supertrait, `Self::Target` in `impl DerefMut`,
/// cannot be named here: such impls take a helper trait, see
/// `expand::impls::ImplBlock`, unless the trait's path has lifetimes.)
fn names_trait_item(name: &Ident, defined: &[Ident]) -> bool {
    defined.contains(name)
}

/// The self type where `Self` was: `Foo::<'a>` for a path type (valid
/// in types, expressions and patterns alike); another type as `<&App>`
/// before `::`, else as `(&App)`.
fn spelled(ty: &Type, before_path: bool) -> TokenStream {
    match ty {
        Type::Path(path) if path.qself.is_none() => as_path_start(ty),
        other if before_path => quote!(<#other>),
        other => quote!((#other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_is_renamed_and_self_type_spelled_out() {
        let ty: Type = syn::parse_quote!(Options<'__hot_i0>);
        let trait_: syn::Path = syn::parse_quote!(Iterator);
        let names = [Ident::new("Item", proc_macro2::Span::call_site())];
        let self_is = SelfIs {
            ty: &ty,
            trait_: &trait_,
            names: &names,
        };
        let body = quote!({
            let x: Option<Self::Item> = self.next();
            let y = Self::new(self::CONST);
            Self { a: self.a }
        });
        let out = rewrite(body, &self_is);
        let words = |tokens: TokenStream| tokens.to_string().replace(' ', "");
        assert_eq!(
            words(out),
            words(quote!({
                let x: Option<<Options<'__hot_i0> as Iterator>::Item> = __hot_self.next();
                let y = Options::<'__hot_i0>::new(self::CONST);
                Options::<'__hot_i0> { a: __hot_self.a }
            }))
        );
    }
}
