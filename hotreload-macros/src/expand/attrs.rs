//! The user's attributes, sorted by the item of the expansion they go on.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Attribute;

use super::types::compact;

/// The user's attributes, sorted by the items they go on.
pub(super) struct Attrs<'a>(pub(super) &'a [Attribute]);

/// Lints that fire on the function the program calls (the trampoline), not
/// on its body: an `#[expect]` of them goes there.
pub(super) const TRAMPOLINE_LINTS: &[&str] = &[
    "dead_code",
    "unused",
    "missing_docs",
    "unreachable_pub",
    "clippy::must_use_candidate",
    "clippy::missing_errors_doc",
    "clippy::missing_panics_doc",
    "clippy::missing_safety_doc",
];

impl<'a> Attrs<'a> {
    pub(super) fn is_lint(attr: &Attribute) -> bool {
        ["allow", "expect", "warn", "deny", "forbid"]
            .iter()
            .any(|name| attr.path().is_ident(name))
    }

    pub(super) fn is_inner(attr: &Attribute) -> bool {
        matches!(attr.style, syn::AttrStyle::Inner(_))
    }

    /// `#![...]` at the top of the body (syn keeps them with the
    /// function's attributes): they go back into the body's block.
    pub(super) fn inner(&self) -> Vec<&'a Attribute> {
        self.0.iter().filter(|attr| Self::is_inner(attr)).collect()
    }

    pub(super) fn is_cfg(attr: &Attribute) -> bool {
        attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr")
    }

    /// An attribute macro (`#[instrument]`, `#[requires(..)]`): neither
    /// one of the language's attributes nor a tool's (`#[rustfmt::skip]`).
    pub(super) fn has_macro(&self) -> bool {
        const BUILT_IN: &[&str] = &[
            "doc",
            "inline",
            "cold",
            "must_use",
            "deprecated",
            "track_caller",
            "allow",
            "expect",
            "warn",
            "deny",
            "forbid",
            "cfg",
            "cfg_attr",
            "no_mangle",
            "export_name",
            "link_section",
            "target_feature",
            "optimize",
            "coverage",
            "instruction_set",
            "unsafe",
            "diagnostic",
        ];
        self.0.iter().any(|attr| {
            let path = attr.path();
            let tool = path.segments.len() == 2
                && ["rustfmt", "clippy", "diagnostic"]
                    .iter()
                    .any(|tool| path.segments[0].ident == tool);
            !tool && !BUILT_IN.iter().any(|name| path.is_ident(name))
        })
    }

    /// `cfg`s: for every item of the expansion.
    pub(super) fn cfgs(&self) -> Vec<&'a Attribute> {
        self.0
            .iter()
            .filter(|attr| !Self::is_inner(attr) && Self::is_cfg(attr))
            .collect()
    }

    /// Every attribute, an `#[expect]` of lints that fire in the body made
    /// an `#[allow]` (it would be unfulfilled here).
    pub(super) fn for_trampoline(&self) -> Vec<TokenStream> {
        self.0
            .iter()
            .filter(|attr| !Self::is_inner(attr))
            .map(|attr| expect_for(attr, true).unwrap_or_else(|| attr.to_token_stream()))
            .collect()
    }

    /// Lint levels and `cfg`s; an `#[expect]` of lints that fire on the
    /// trampoline made an `#[allow]`.
    pub(super) fn for_body(&self) -> Vec<TokenStream> {
        self.0
            .iter()
            .filter(|attr| !Self::is_inner(attr) && (Self::is_lint(attr) || Self::is_cfg(attr)))
            .map(|attr| expect_for(attr, false).unwrap_or_else(|| attr.to_token_stream()))
            .collect()
    }
}

/// An `#[expect(lints.., reason = ..)]` for the trampoline or the body:
/// `expect` for the lints that fire there, `allow` for the others. `None`
/// for any other attribute.
pub(super) fn expect_for(attr: &Attribute, trampoline: bool) -> Option<TokenStream> {
    if !attr.path().is_ident("expect") {
        return None;
    }
    let metas = attr
        .parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
        .ok()?;
    let (reasons, lints): (Vec<_>, Vec<_>) = metas
        .into_iter()
        .partition(|meta| matches!(meta, syn::Meta::NameValue(_)));
    let (here, elsewhere): (Vec<_>, Vec<_>) = lints.into_iter().partition(|lint| {
        let name = compact(lint.path());
        TRAMPOLINE_LINTS.contains(&name.as_str()) == trampoline
    });
    let expect = (!here.is_empty()).then(|| quote!(#[expect(#(#here,)* #(#reasons),*)]));
    let allow = (!elsewhere.is_empty()).then(|| quote!(#[allow(#(#elsewhere),*)]));
    Some(quote!(#expect #allow))
}
