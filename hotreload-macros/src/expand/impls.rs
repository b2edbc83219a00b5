//! `#[hot]` on an `impl` block: each method that can be hot, and for a
//! trait impl the helper trait that holds the bodies.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::{Attribute, FnArg, ImplItem, ItemImpl, ReceiverKind, ReturnType, Signature, Type};

use crate::attr::Args;
use crate::signature::ImplOf;
use crate::valid::{self, Errors};

use super::attrs::Attrs;
use super::hot_fn::HotFn;
use super::types::{compact, has_lifetime, without_lifetimes};

/// Every method that can be hot becomes hot; every other item (a `const
/// fn`, a generic method, an associated type or const) stays as written.
pub(super) fn impl_block(args: &Args, item: &ItemImpl) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    valid::item_impl(item, &mut errors);
    errors.finish()?;
    let block = ImplBlock::new(item);
    let mut items = Vec::new();
    let mut beside = Vec::new();
    let mut helper_bodies = Vec::new();
    // Thin methods' signatures (a quick build): their trampolines name the
    // helper trait's `Self::Name` types too.
    let mut thin_sigs = Vec::new();
    for impl_item in &item.items {
        match impl_item {
            ImplItem::Fn(method) if valid::can_be_hot(&method.sig) => {
                let hot = HotFn {
                    send: args.send,
                    attrs: &method.attrs,
                    vis: &method.vis,
                    sig: &method.sig,
                    block: &method.block,
                    impl_block: Some(&block),
                }
                .expand_as_needed(&args.krate);
                items.push(hot.trampoline);
                beside.push(hot.beside);
                if hot.helper_body.is_none() {
                    thin_sigs.push(&method.sig);
                }
                helper_bodies.extend(hot.helper_body);
            }
            other => items.push(other.to_token_stream()),
        }
    }
    let cfgs = Attrs(&item.attrs).cfgs();
    if !helper_bodies.is_empty() || !self_projections(thin_sigs.iter().copied()).is_empty() {
        beside.push(block.helper_items(&helper_bodies, &thin_sigs, &cfgs));
    }
    let ItemImpl {
        attrs,
        impl_token,
        generics,
        trait_,
        self_ty,
        ..
    } = item;
    let trait_ = trait_
        .as_ref()
        .map(|(path, for_token)| quote!(#path #for_token));
    Ok(quote! {
        #(#attrs)*
        #impl_token #generics #trait_ #self_ty {
            #(#items)*
        }
        #(#beside)*
    })
}

/// The impl block a hot method is in.
pub(super) struct ImplBlock<'a> {
    pub(super) item: &'a ItemImpl,
    /// The names the block defines (methods, types, consts): `Self::Name`
    /// in a trait impl means the trait's item.
    pub(super) names: Vec<syn::Ident>,
    /// `Player`, `<&App as Widget>`: for registry paths.
    pub(super) display: String,
    /// Words and a hash of the self type and trait, for item names.
    pub(super) key: String,
    /// The helper trait that holds the bodies of a trait impl's hot methods
    /// (see [`ImplBlock::helper_items`]); `None` for an inherent impl, and
    /// for a trait whose path has lifetimes (`From<&'a str>`), whose bodies
    /// become free functions instead.
    pub(super) helper: Option<syn::Ident>,
    /// `helper` with the impl's lifetimes (see [`ImplBlock::helper_path`]).
    pub(super) helper_path: Option<syn::Path>,
}

impl<'a> ImplBlock<'a> {
    pub(super) fn new(item: &'a ItemImpl) -> ImplBlock<'a> {
        let names = item
            .items
            .iter()
            .filter_map(|item| match item {
                ImplItem::Fn(f) => Some(f.sig.ident.clone()),
                ImplItem::Const(c) => Some(c.ident.clone()),
                ImplItem::Type(t) => Some(t.ident.clone()),
                _ => None,
            })
            .collect();
        let self_ty = &item.self_ty;
        let trait_path = item.trait_.as_ref().map(|(path, _)| path);
        let ty = compact(&without_lifetimes(self_ty));
        let display = match trait_path {
            None => ty,
            Some(path) => format!("<{ty} as {}>", compact(&without_lifetimes(path))),
        };
        let id = crate::fnv::hash(quote!(#self_ty #trait_path).to_string().as_bytes()) as u32;
        let words: Vec<&str> = display
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .collect();
        let key = format!("{}_{id:08x}", words.join("_"));
        let helper = trait_path
            .filter(|path| !has_lifetime_in(path))
            .map(|_| format_ident!("__HotreloadTrait{:08x}", id));
        let mut block = ImplBlock {
            item,
            names,
            display,
            key,
            helper,
            helper_path: None,
        };
        block.helper_path = block
            .helper
            .as_ref()
            .map(|helper| block.helper_path(helper));
        block
    }

    pub(super) fn self_ty(&self) -> &Type {
        &self.item.self_ty
    }

    pub(super) fn trait_path(&self) -> Option<&syn::Path> {
        self.item.trait_.as_ref().map(|(path, _)| path)
    }

    pub(super) fn of(&self) -> ImplOf<'_> {
        ImplOf {
            self_ty: self.self_ty(),
            trait_: self.trait_path().map(|path| (path, self.names.as_slice())),
            helper: self.helper_path.as_ref(),
        }
    }

    /// The helper trait with the impl's lifetimes: `Helper<'a>`.
    pub(super) fn helper_path(&self, helper: &syn::Ident) -> syn::Path {
        let lifetimes = self.item.generics.lifetimes().map(|l| &l.lifetime);
        syn::parse_quote!(#helper<#(#lifetimes),*>)
    }

    /// For a trait impl, the helper trait and its impl for the self type,
    /// beside the user's impl: the trait has the user's trait as
    /// supertrait and declares each hot method's body; the impl defines
    /// them as written. Inside it `self`, `Self`, `Self::Variant` and
    /// `Self::Item` (of the trait or a supertrait) mean what they meant
    /// in the user's impl. Each `Self::Name` the signatures name also gets
    /// an associated type `__HotreloadSelfName`, so that code outside the
    /// impl (thunks, slots) can name it.
    /// `thin` are the signatures of methods a quick build leaves to the
    /// program: not declared, but their `Self::Name`s are there.
    pub(super) fn helper_items(
        &self,
        bodies: &[HelperBody],
        thin: &[&Signature],
        cfgs: &[&Attribute],
    ) -> TokenStream {
        let (Some(helper), Some(trait_path)) = (&self.helper, self.trait_path()) else {
            return TokenStream::new();
        };
        let projections = self_projections(
            bodies
                .iter()
                .map(|body| &body.sig)
                .chain(thin.iter().copied()),
        );
        let declared = bodies.iter().map(declaration);
        let defined = bodies.iter().map(|body| &body.definition);
        let types = projections
            .iter()
            .map(|name| format_ident!("__HotreloadSelf{}", name));
        let types_again = types.clone();
        let generics = &self.item.generics;
        let self_ty = self.self_ty();
        // The user's trait as supertrait, for `Self::Name` to resolve in the
        // declarations: only when they have one (a supertrait must hold
        // for the trait's `Self`, which is not assumed `Sized`: `Rhs =
        // Self` of `BitOr` needs it, `ToOwned` for an unsized `BStr` must
        // not have it).
        let supertrait = (!projections.is_empty()).then(|| {
            let sized = defaults_to_self(trait_path).then(|| quote!(+ ::core::marker::Sized));
            quote!(: #trait_path #sized)
        });
        quote! {
            #[doc(hidden)]
            #(#cfgs)*
            trait #helper #generics #supertrait {
                #(#declared)*
                #(type #types: ?Sized;)*
            }
            #(#cfgs)*
            impl #generics #helper #generics for #self_ty {
                #(#defined)*
                #(type #types_again = Self::#projections;)*
            }
        }
    }
}

/// Inside its impl, a trait is in scope for method calls
/// (`self.render().fmt(f)` in `impl Display`); a body moved out of the
/// impl starts with this `use`, to keep it so.
pub(super) fn trait_in_scope(trait_path: &syn::Path) -> TokenStream {
    let mut path = trait_path.clone();
    path.segments
        .iter_mut()
        .for_each(|segment| segment.arguments = syn::PathArguments::None);
    quote! {
        #[allow(unused_imports)]
        use #path as _;
    }
}

/// Whether a path names a lifetime (or elides one: `&str`, `'_`).
pub(super) fn has_lifetime_in(path: &syn::Path) -> bool {
    has_lifetime(&syn::parse_quote!(#path))
}

/// The `Name`s of `Self::Name` in the signatures' types.
pub(super) fn self_projections<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Vec<syn::Ident> {
    struct Find(Vec<syn::Ident>);
    impl<'a> syn::visit::Visit<'a> for Find {
        fn visit_type_path(&mut self, path: &'a syn::TypePath) {
            let segments = &path.path.segments;
            if path.qself.is_none()
                && segments.len() > 1
                && segments[0].ident == "Self"
                && !self.0.contains(&segments[1].ident)
            {
                self.0.push(segments[1].ident.clone());
            }
            syn::visit::visit_type_path(self, path);
        }
    }
    let mut find = Find(Vec::new());
    for sig in sigs {
        syn::visit::Visit::visit_signature(&mut find, sig);
    }
    find.0
}

/// The operator traits whose type parameter defaults to `Self` (`trait
/// BitOr<Rhs = Self>`): as a supertrait without arguments they need `Self:
/// Sized`.
pub(super) fn defaults_to_self(trait_path: &syn::Path) -> bool {
    const OPERATORS: &[&str] = &[
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Rem",
        "BitAnd",
        "BitOr",
        "BitXor",
        "Shl",
        "Shr",
        "AddAssign",
        "SubAssign",
        "MulAssign",
        "DivAssign",
        "RemAssign",
        "BitAndAssign",
        "BitOrAssign",
        "BitXorAssign",
        "ShlAssign",
        "ShrAssign",
    ];
    trait_path.segments.last().is_some_and(|last| {
        matches!(last.arguments, syn::PathArguments::None)
            && OPERATORS.iter().any(|name| last.ident == name)
    })
}

/// Whether a signature has `Self` by value (not behind a reference):
/// its declaration then needs `where Self: Sized` (which the user's type
/// has, or the user's own method would not compile).
pub(super) fn has_self_by_value(sig: &Signature) -> bool {
    struct Find(bool);
    impl<'a> syn::visit::Visit<'a> for Find {
        fn visit_type(&mut self, ty: &'a Type) {
            match ty {
                Type::Reference(reference) if is_self(&reference.elem) => {}
                Type::Ptr(pointer) if is_self(&pointer.elem) => {}
                other if is_self(other) => self.0 = true,
                other => syn::visit::visit_type(self, other),
            }
        }
    }
    pub(super) fn is_self(ty: &Type) -> bool {
        matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
    }
    let by_value_receiver = sig.receiver().is_some_and(|receiver| {
        matches!(receiver.kind, ReceiverKind::Value)
            || matches!(&receiver.kind, ReceiverKind::Typed(_, ty) if !matches!(**ty, Type::Reference(_)))
    });
    let mut find = Find(by_value_receiver);
    for arg in &sig.inputs {
        if let FnArg::Typed(pat_type) = arg {
            syn::visit::Visit::visit_type(&mut find, &pat_type.ty);
        }
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        syn::visit::Visit::visit_type(&mut find, ty);
    }
    find.0
}

/// A hot method's body in its impl block's helper trait.
pub(super) struct HelperBody {
    /// The body's signature (for the declaration).
    pub(super) sig: Signature,
    /// The method's `cfg`s (for the declaration).
    pub(super) cfgs: Vec<Attribute>,
    pub(super) definition: TokenStream,
}

/// A method's declaration in the helper trait: its signature with `_` for
/// each argument's pattern (a declaration takes no patterns) and no `mut`
/// on the receiver.
pub(super) fn declaration(body: &HelperBody) -> TokenStream {
    let cfgs = &body.cfgs;
    let mut sig = body.sig.clone();
    if has_self_by_value(&sig) {
        sig.generics
            .make_where_clause()
            .predicates
            .push(syn::parse_quote!(Self: ::core::marker::Sized));
    }
    for arg in &mut sig.inputs {
        match arg {
            FnArg::Receiver(receiver) => receiver.mutability = None,
            FnArg::Typed(pat_type) => *pat_type.pat = syn::parse_quote!(_),
        }
    }
    quote! {
        #(#cfgs)*
        #[allow(
            mismatched_lifetime_syntaxes,
            clippy::too_many_arguments,
            clippy::needless_lifetimes,
            clippy::type_complexity
        )]
        #sig;
    }
}
