//! Checks that an item can be hot, collecting every problem so the user
//! sees all of them at once, each on the offending span.

use syn::visit::Visit;
use syn::{FnArg, GenericParam, ItemImpl, Signature};

/// Collects errors; `finish` combines them into one.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds one more error.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// All the errors as one (`syn::Error::combine`), or `Ok` if none.
    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Checks the signature of a function that is to become hot. `in_impl`
/// allows a `self` receiver.
pub fn signature(sig: &Signature, in_impl: bool, errors: &mut Errors) {
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            "#[hot] cannot be used on a `const fn`: it is evaluated at compile time, so there is \
             nothing to reload; remove `const`, or move it out of the #[hot] item",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "#[hot] cannot be used on a function with an `extern` ABI; wrap a plain Rust `fn` \
             marked #[hot] in the `extern` function instead",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic.dots,
            "#[hot] cannot be used on a variadic function",
        ));
    }
    for param in &sig.generics.params {
        match param {
            GenericParam::Type(_) | GenericParam::Const(_) => errors.push(syn::Error::new_spanned(
                param,
                "#[hot] cannot be used on a generic function: each instantiation would need its \
                 own slot; make a non-generic #[hot] function for each type you use",
            )),
            GenericParam::Lifetime(lifetime) if !lifetime.bounds.is_empty() => {
                errors.push(syn::Error::new_spanned(
                    param,
                    "#[hot] cannot be used on a function with lifetime bounds; \
                     lifetimes without bounds are fine",
                ))
            }
            GenericParam::Lifetime(_) => {}
        }
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            where_clause,
            "#[hot] cannot be used on a function with a `where` clause",
        ));
    }
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(receiver) if !in_impl => errors.push(syn::Error::new_spanned(
                receiver,
                "`self` outside an impl block: put #[hot] on the `impl` block instead",
            )),
            FnArg::Receiver(_) => {}
            FnArg::Typed(pat_type) => impl_trait(&pat_type.ty, "argument", errors),
        }
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output {
        impl_trait(ty, "return", errors);
    }
}

/// `impl Trait` anywhere in a type makes it impossible to name the function
/// pointer type that the slot stores.
fn impl_trait(ty: &syn::Type, position: &str, errors: &mut Errors) {
    struct Find<'a>(Vec<&'a syn::TypeImplTrait>);
    impl<'a> Visit<'a> for Find<'a> {
        fn visit_type_impl_trait(&mut self, i: &'a syn::TypeImplTrait) {
            self.0.push(i);
        }
    }
    let mut find = Find(Vec::new());
    find.visit_type(ty);
    for found in find.0 {
        errors.push(syn::Error::new_spanned(
            found,
            format!(
                "#[hot] cannot be used with `impl Trait` in {position} position: the function \
                 would be generic or return a hidden type; use a concrete type or `Box<dyn Trait>`"
            ),
        ));
    }
}

/// Whether `sig` can be hot in an impl block: a method that cannot stays
/// as written, without an error.
pub fn can_be_hot(sig: &Signature) -> bool {
    let mut errors = Errors::default();
    signature(sig, true, &mut errors);
    errors.0.is_none()
}

/// Checks an `impl` block: inherent or of a trait, generic over lifetimes
/// without bounds at most.
pub fn item_impl(item: &ItemImpl, errors: &mut Errors) {
    for param in &item.generics.params {
        match param {
            GenericParam::Type(_) | GenericParam::Const(_) => errors.push(syn::Error::new_spanned(
                param,
                "#[hot] cannot be used on an impl block generic over types or constants: each \
                 instantiation would need its own slot; put #[hot] on an impl block for a \
                 concrete type (generic over lifetimes is fine)",
            )),
            GenericParam::Lifetime(lifetime) if !lifetime.bounds.is_empty() => {
                errors.push(syn::Error::new_spanned(
                    param,
                    "#[hot] cannot be used on an impl block with lifetime bounds; lifetimes \
                     without bounds are fine",
                ))
            }
            GenericParam::Lifetime(_) => {}
        }
    }
    if let Some(where_clause) = &item.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            where_clause,
            "#[hot] cannot be used on an impl block with a `where` clause",
        ));
    }
    if let Some(unsafety) = &item.unsafety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            "#[hot] cannot be used on an `unsafe impl`",
        ));
    }
}
