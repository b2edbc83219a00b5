//! The function pointer type a hot function's slot holds, and the
//! signature of the thunk that slots point at.
//!
//! Written out so that it means outside the function what the signature
//! means inside it:
//!
//! - `Self` becomes the impl's self type, and `Self::Name` of a trait impl
//!   `<Type as Trait>::Name`;
//! - every elided lifetime of the inputs gets a name, and an elided output
//!   lifetime gets the receiver's (`&self` elision has no counterpart in a
//!   function pointer type);
//! - the anonymous lifetimes of the self type (`impl Parser<'_>`, `impl
//!   Trait for &App`) get names;
//! - every named lifetime is renamed `'__hot_lN`: the pointer type is
//!   declared inside the trampoline, where the impl's own names would
//!   shadow;
//! - a lifetime that only the output names (`fn name<'a>() -> &'a str`)
//!   becomes `'static`: the caller picks it, and `'static` is a valid pick
//!   that the trampoline's result coerces from.
//!
//! Every remaining lifetime appears in an input without bounds, so the
//! thunk (`fn thunk<'__hot_l0, ..>(..)`) is generic over it late-bound and
//! coerces to the higher-ranked pointer type. Lifetimes bound inside the
//! types (`fn(&u8)`, `dyn Fn(&str)`, `for<'x>`) are left alone.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::visit_mut::VisitMut;
use syn::{FnArg, Lifetime, ReceiverKind, ReturnType, Signature, Type};

/// The impl a method is in.
#[derive(Clone, Copy)]
pub struct ImplOf<'a> {
    pub self_ty: &'a Type,
    /// The trait of a trait impl, and the names of the items the impl
    /// defines (for `Self::Name`).
    pub trait_: Option<(&'a syn::Path, &'a [syn::Ident])>,
    /// The helper trait that names `Self::Name` of a trait impl as
    /// `<Type as Helper>::__HotreloadSelfName` (see `expand::impls::ImplBlock`).
    pub helper: Option<&'a syn::Path>,
}

/// The slot's function type, pieces first.
pub struct Pointer {
    /// The lifetimes the pointer is generic over, and the thunk declares.
    pub lifetimes: Vec<Lifetime>,
    /// Receiver first.
    pub inputs: Vec<Type>,
    /// One more input after them, of an `async fn` (see `box_future`).
    pub extra: Option<Type>,
    pub output: Option<Type>,
    /// The self type as the thunk names it (its lifetimes renamed).
    pub self_ty: Option<Type>,
    /// An `unsafe fn`.
    pub unsafety: bool,
    /// The user's lifetime names -> the pointer's (see [`Pointer::mapped`]).
    renamed: BTreeMap<String, Lifetime>,
}

/// The argument types with their elided lifetimes named (`'__hot_a0_`...)
/// and `Self` spelled out (`replace_self`); and the receiver's lifetime.
fn named_inputs(
    sig: &Signature,
    self_ty: Option<&Type>,
    replace_self: &dyn Fn(&mut Type),
) -> (Vec<Type>, Option<Lifetime>) {
    let mut named = 0;
    let mut receiver_lifetime = None;
    let mut inputs = Vec::new();
    for arg in &sig.inputs {
        let mut ty = match arg {
            FnArg::Receiver(receiver) => receiver_type(receiver, self_ty),
            FnArg::Typed(pat_type) => (*pat_type.ty).clone(),
        };
        replace_self(&mut ty);
        named += name_elided(&mut ty, &format!("__hot_a{named}_"));
        if let (FnArg::Receiver(_), Type::Reference(reference)) = (arg, &ty) {
            receiver_lifetime = reference.lifetime.clone();
        }
        inputs.push(ty);
    }
    (inputs, receiver_lifetime)
}

/// What an elided output lifetime means when there is no receiver: the
/// only lifetime the inputs have, if they have one (hidden ones, `Parser`
/// for `Parser<'_>`, stay elided in both, and mean the same).
fn only_lifetime(inputs: &[Type]) -> Option<Lifetime> {
    let mut find = Rename::default();
    inputs
        .to_vec()
        .iter_mut()
        .for_each(|ty| find.visit_type_mut(ty));
    let mut names = find.names.into_keys();
    match (names.next(), names.next()) {
        (Some(name), None) => Some(Lifetime::new(&format!("'{name}"), Span::call_site())),
        _ => None,
    }
}

impl Pointer {
    /// `private`: the runtime's `__private` path (for `std`, which a
    /// `#![no_std]` crate has not at its root), given if an `async fn`'s
    /// future is `Send`.
    pub fn new(
        sig: &Signature,
        impl_of: Option<ImplOf<'_>>,
        private: &TokenStream,
        send: bool,
    ) -> Pointer {
        // The self type with its anonymous lifetimes named.
        let self_ty = impl_of.map(|of| name_anonymous(of.self_ty).ty);
        let replace_self = |ty: &mut Type| {
            if let (Some(self_ty), Some(of)) = (&self_ty, impl_of) {
                ReplaceSelf {
                    self_ty,
                    trait_: of.trait_,
                    helper: of.helper,
                }
                .visit_type_mut(ty);
            }
        };

        let (mut inputs, receiver_lifetime) = named_inputs(sig, self_ty.as_ref(), &replace_self);
        let mut output = match &sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        if let Some(ty) = &mut output {
            replace_self(ty);
            if let Some(lifetime) = receiver_lifetime.or_else(|| only_lifetime(&inputs)) {
                elided_to(ty, &lifetime);
            }
        }

        // Rename what the inputs name; output-only names become 'static.
        let mut rename = Rename::default();
        inputs.iter_mut().for_each(|ty| rename.visit_type_mut(ty));
        let in_inputs = rename.names.clone();
        if let Some(ty) = &mut output {
            rename.only = Some(in_inputs.clone());
            rename.visit_type_mut(ty);
        }
        let self_ty = self_ty.map(|mut ty| {
            rename.only = Some(in_inputs.clone());
            rename.visit_type_mut(&mut ty);
            ty
        });
        let mut lifetimes: Vec<(usize, Lifetime)> = in_inputs
            .clone()
            .into_values()
            .map(|new| (order(&new), new))
            .collect();
        lifetimes.sort_by_key(|(n, _)| *n);
        let mut pointer = Pointer {
            lifetimes: lifetimes.into_iter().map(|(_, l)| l).collect(),
            inputs,
            extra: None,
            output,
            self_ty,
            unsafety: matches!(sig.safety, syn::Safety::Unsafe(_)),
            renamed: in_inputs.clone(),
        };
        if sig.asyncness.is_some() {
            pointer.box_future(private, send);
        }
        pointer
    }

    /// An `async fn`'s: the boxed future as the output, outliving a
    /// lifetime `'__hot_f` that every input lifetime outlives. A function
    /// pointer type cannot say so with bounds; an extra argument of type
    /// `PhantomData<(&'__hot_f &'__hot_l0 (), ..)>` does, by the bounds its
    /// type implies (the caller passes `PhantomData`).
    fn box_future(&mut self, private: &TokenStream, send: bool) {
        let future = Lifetime::new("'__hot_f", Span::call_site());
        let bound = if self.lifetimes.is_empty() {
            Lifetime::new("'static", Span::call_site())
        } else {
            let outlives = self.lifetimes.iter().map(|l| quote!(&#future &#l ()));
            self.extra = Some(syn::parse_quote! {
                ::core::marker::PhantomData<(#(#outlives,)*)>
            });
            self.lifetimes.push(future.clone());
            future
        };
        let awaited = self.output.take().unwrap_or_else(|| syn::parse_quote!(()));
        let send = send.then(|| quote!(+ ::core::marker::Send));
        self.output = Some(syn::parse_quote! {
            ::core::pin::Pin<#private::std::boxed::Box<
                dyn ::core::future::Future<Output = #awaited> #send + #bound
            >>
        });
    }

    /// `path` with the user's lifetimes as the pointer names them (one the
    /// inputs do not name is `'static`).
    pub fn mapped(&self, path: &syn::Path) -> syn::Path {
        let mut path = path.clone();
        Rename {
            names: BTreeMap::new(),
            only: Some(self.renamed.clone()),
        }
        .visit_path_mut(&mut path);
        path
    }

    /// `for<'__hot_l0, ..> unsafe fn(..) -> ..`
    pub fn ty(&self) -> TokenStream {
        let lifetimes = &self.lifetimes;
        let binder = (!lifetimes.is_empty()).then(|| quote!(for<#(#lifetimes),*>));
        let unsafety = self.unsafety.then(|| quote!(unsafe));
        let inputs = self.inputs.iter().chain(&self.extra);
        let output = self.output.as_ref().map(|ty| quote!(-> #ty));
        quote!(#binder #unsafety fn(#(#inputs),*) #output)
    }
}

/// A self type with its anonymous lifetimes named, and those names.
pub struct Named {
    pub ty: Type,
    pub lifetimes: Vec<Lifetime>,
}

/// `ty` with each anonymous lifetime (`'_`, `&` without one) named
/// `'__hot_iN`.
pub fn name_anonymous(ty: &Type) -> Named {
    let mut ty = ty.clone();
    let count = name_elided(&mut ty, "__hot_i");
    let lifetimes = (0..count)
        .map(|n| Lifetime::new(&format!("'__hot_i{n}"), Span::call_site()))
        .collect();
    Named { ty, lifetimes }
}

/// The number in `'__hot_lN`, for a stable order.
fn order(lifetime: &Lifetime) -> usize {
    lifetime
        .ident
        .to_string()
        .trim_start_matches("__hot_l")
        .parse()
        .unwrap_or(usize::MAX)
}

/// The type of a receiver, with `Self` spelled as `self_ty`.
fn receiver_type(receiver: &syn::Receiver, self_ty: Option<&Type>) -> Type {
    let self_ty = self_ty.cloned().unwrap_or_else(|| syn::parse_quote!(Self));
    match &receiver.kind {
        ReceiverKind::Reference(and, lifetime, mutability) => {
            syn::parse_quote!(#and #lifetime #mutability #self_ty)
        }
        ReceiverKind::Typed(_, ty) => (**ty).clone(),
        _ => self_ty,
    }
}

/// The visitor methods that leave nested binders alone: lifetimes elided
/// or named inside `fn(&u8)`, `dyn Fn(&str)` or `for<'x>` are theirs.
macro_rules! skip_nested_binders {
    () => {
        fn visit_type_fn_ptr_mut(&mut self, _: &mut syn::TypeFnPtr) {}
        fn visit_parenthesized_generic_arguments_mut(
            &mut self,
            _: &mut syn::ParenthesizedGenericArguments,
        ) {
        }
        fn visit_bound_lifetimes_mut(&mut self, _: &mut syn::BoundLifetimes) {}
    };
}

/// Gives every elided lifetime (`&T`, `'_`) outside nested binders the
/// lifetime its function returns.
struct FillElided<F>(F);

impl<F: FnMut() -> Lifetime> VisitMut for FillElided<F> {
    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        if reference.lifetime.is_none() {
            reference.lifetime = Some((self.0)());
        }
        syn::visit_mut::visit_type_reference_mut(self, reference);
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        if lifetime.ident == "_" {
            *lifetime = (self.0)();
        }
    }

    skip_nested_binders!();
}

/// Names each elided lifetime of `ty` `'<prefix>N`, from `'<prefix>0`;
/// returns how many.
fn name_elided(ty: &mut Type, prefix: &str) -> usize {
    let mut next = 0;
    FillElided(|| {
        let lifetime = Lifetime::new(&format!("'{prefix}{next}"), Span::call_site());
        next += 1;
        lifetime
    })
    .visit_type_mut(ty);
    next
}

/// Sets every elided lifetime of `ty` to `lifetime` (an output type, to
/// the receiver's).
pub fn elided_to(ty: &mut Type, lifetime: &Lifetime) {
    FillElided(|| lifetime.clone()).visit_type_mut(ty);
}

/// Renames named lifetimes (not `'static`, not `'_`) to `'__hot_lN`, the
/// same name for the same lifetime. With `only`, a name not in it becomes
/// `'static`.
#[derive(Default)]
struct Rename {
    names: BTreeMap<String, Lifetime>,
    only: Option<BTreeMap<String, Lifetime>>,
}

impl VisitMut for Rename {
    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        let name = lifetime.ident.to_string();
        if name == "static" || name == "_" {
            return;
        }
        *lifetime = match &self.only {
            Some(only) => only
                .get(&name)
                .cloned()
                .unwrap_or_else(|| Lifetime::new("'static", lifetime.span())),
            None => {
                let next = self.names.len();
                self.names
                    .entry(name)
                    .or_insert_with(|| Lifetime::new(&format!("'__hot_l{next}"), Span::call_site()))
                    .clone()
            }
        };
    }

    skip_nested_binders!();
}

/// Replaces the type `Self` with the impl's self type, and `Self::Name`
/// of a trait impl with `<Type as Helper>::__HotreloadSelfName` (or, with
/// no helper, `<Type as Trait>::Name`).
pub struct ReplaceSelf<'a> {
    pub self_ty: &'a Type,
    pub trait_: Option<(&'a syn::Path, &'a [syn::Ident])>,
    pub helper: Option<&'a syn::Path>,
}

impl VisitMut for ReplaceSelf<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::Path(path) = ty
            && path.qself.is_none()
            && path.path.leading_colon.is_none()
            && path
                .path
                .segments
                .first()
                .is_some_and(|s| s.ident == "Self")
        {
            let self_ty = self.self_ty;
            let rest: Vec<_> = path.path.segments.iter().skip(1).collect();
            // In a type, `Self::Name` of a trait impl is an associated type
            // of the trait or of a supertrait (`Self::Target` in `impl
            // DerefMut`): name it through the trait.
            *ty = match (rest.as_slice(), self.trait_, self.helper) {
                ([], _, _) => self_ty.clone(),
                ([name, more @ ..], _, Some(helper)) => {
                    let name = quote::format_ident!("__HotreloadSelf{}", name.ident);
                    syn::parse_quote!(<#self_ty as #helper>::#name #(::#more)*)
                }
                (_, Some((trait_path, _)), None) => {
                    syn::parse_quote!(<#self_ty as #trait_path>::#(#rest)::*)
                }
                _ => syn::parse_quote!(<#self_ty>::#(#rest)::*),
            };
            // The self type itself holds no `Self`.
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

/// `ty` as an expression or pattern path can start with it: `Foo::<'a>`
/// for a path type (turbofish), `<&App>` for any other.
pub fn as_path_start(ty: &Type) -> TokenStream {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            let mut path = path.path.clone();
            for segment in &mut path.segments {
                if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    args.colon2_token = Some(Default::default());
                }
            }
            path.to_token_stream()
        }
        other => quote!(<#other>),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointer(sig: TokenStream, self_ty: Option<Type>) -> String {
        let sig: Signature = syn::parse2(sig).unwrap();
        let impl_of = self_ty.as_ref().map(|self_ty| ImplOf {
            self_ty,
            trait_: None,
            helper: None,
        });
        crate::expand::types::compact(&Pointer::new(&sig, impl_of, &quote!(::hr), true).ty())
    }

    #[test]
    fn elided_lifetimes_are_named_and_the_output_takes_the_receivers() {
        assert_eq!(
            pointer(
                quote!(fn get(&self, _k: &str) -> &str),
                Some(syn::parse_quote!(Map))
            ),
            "for<'__hot_l0, '__hot_l1> fn(&'__hot_l0 Map, &'__hot_l1 str) -> &'__hot_l0 str"
        );
        assert_eq!(
            pointer(
                quote!(fn len(&self) -> usize),
                Some(syn::parse_quote!(Parser<'_>))
            ),
            "for<'__hot_l0, '__hot_l1> fn(&'__hot_l0 Parser<'__hot_l1>) -> usize"
        );
    }

    #[test]
    fn a_lifetime_only_the_output_names_is_static() {
        assert_eq!(
            pointer(quote!(fn name<'a>() -> &'a str), None),
            "fn() -> &'static str"
        );
        assert_eq!(
            pointer(quote!(fn first<'a>(v: &'a [u8], w: &[u8]) -> &'a u8), None),
            "for<'__hot_l0, '__hot_l1> fn(&'__hot_l0[u8], &'__hot_l1[u8]) -> &'__hot_l0 u8"
        );
    }

    #[test]
    fn lifetimes_inside_nested_binders_are_left_alone() {
        assert_eq!(
            pointer(
                quote!(fn call(f: fn(&u8) -> &u8, g: &dyn Fn(&str)) -> u8),
                None
            ),
            "for<'__hot_l0> fn(fn(&u8) -> &u8, &'__hot_l0 dyn Fn(&str)) -> u8"
        );
    }

    #[test]
    fn self_in_a_trait_impl_names_the_traits_items() {
        let sig: Signature = syn::parse2(quote!(fn next(&mut self) -> Option<Self::Item>)).unwrap();
        let self_ty: Type = syn::parse_quote!(Counter);
        let trait_path: syn::Path = syn::parse_quote!(Iterator);
        let names = [syn::Ident::new("Item", Span::call_site())];
        let pointer = Pointer::new(
            &sig,
            Some(ImplOf {
                self_ty: &self_ty,
                trait_: Some((&trait_path, &names)),
                helper: None,
            }),
            &quote!(::hr),
            true,
        );
        assert_eq!(
            crate::expand::types::compact(&pointer.ty()),
            "for<'__hot_l0> fn(&'__hot_l0 mut Counter) -> Option<<Counter as Iterator>::Item>"
        );
    }

    #[test]
    fn an_async_fn_returns_its_boxed_future_outlived_by_every_input() {
        assert_eq!(
            pointer(
                quote!(async fn get(&self, key: &str) -> u32),
                Some(syn::parse_quote!(Store))
            ),
            "for<'__hot_l0, '__hot_l1, '__hot_f> fn(&'__hot_l0 Store, &'__hot_l1 str, ::core::marker::PhantomData<(&'__hot_f&'__hot_l0(), &'__hot_f&'__hot_l1(),)>) -> ::core::pin::Pin<::hr::std::boxed::Box<dyn::core::future::Future<Output=u32>+::core::marker::Send+'__hot_f>>"
        );
        assert_eq!(
            pointer(quote!(async fn handle(body: String)), None),
            "fn(String) -> ::core::pin::Pin<::hr::std::boxed::Box<dyn::core::future::Future<Output=()>+::core::marker::Send+'static>>"
        );
    }

    #[test]
    fn path_starts() {
        let ty: Type = syn::parse_quote!(Options<'a>);
        assert_eq!(as_path_start(&ty).to_string(), "Options :: < 'a >");
        let ty: Type = syn::parse_quote!(&App);
        assert_eq!(as_path_start(&ty).to_string(), "< & App >");
    }
}
