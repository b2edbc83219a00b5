//! Builds the output of `#[hot]`.
//!
//! For `pub fn step(world: &mut World, dt: f32) { body }` the output is
//!
//! ```ignore
//! ::hotreload_runtime::__private::hot_item! {
//!     // used without the runtime's `reload` feature: the item as written
//!     { pub fn step(world: &mut World, dt: f32) { body } }
//!     // used with it:
//!     {
//!         // its own module, so its own codegen unit (see `HotFn::expand`)
//!         #[doc(hidden)]
//!         mod __hotreload_step {
//!             use super::*;
//!             pub(super) fn __hotreload_impl_step(world: &mut World, dt: f32) { body }
//!         }
//!
//!         #[inline]
//!         pub fn step(__hot_arg0: &mut World, __hot_arg1: f32) {
//!             type __HotFn = fn(&mut World, f32);
//!             // starts at the statically linked body: no build, no dylib
//!             static __HOT_SLOT: Slot = Slot::new(__hotreload_step::__hotreload_impl_step as __HotFn as *mut ());
//!             #[distributed_slice(ENTRIES)]
//!             static __HOT_ENTRY: Entry = Entry::new(&__HOT_SLOT, "crate::module::step", ...);
//!             // SAFETY: the slot only ever holds functions of type __HotFn
//!             let f = unsafe { transmute::<*mut (), __HotFn>(__HOT_SLOT.get()) };
//!             f(__hot_arg0, __hot_arg1)
//!         }
//!     }
//! }
//! ```
//!
//! Methods of a `#[hot] impl` block get the same shape, with the
//! implementation as a hidden associated function (in an `impl` block in
//! its own module) and `Self` spelled out in the slot's function pointer
//! type.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, Block, FnArg, ImplItem, Item, ItemFn, ItemImpl, ReceiverKind, ReturnType, Signature,
    Type, Visibility,
};

use crate::attr::Args;
use crate::valid::{self, Errors};

/// Entry point: never panics; on an error the item is still emitted as the
/// user wrote it, next to the `compile_error!`, so the user's own errors
/// stay visible.
pub fn hot(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = match Args::parse("hot", args) {
        Ok(args) => args,
        Err(error) => return with_error(input, error),
    };
    // An item that does not parse is handed back untouched: rustc then
    // reports the user's own syntax error instead of ours.
    let Ok(item) = syn::parse2::<Item>(input.clone()) else {
        return input;
    };
    let expanded = match &item {
        Item::Fn(item_fn) => free_fn(&args, item_fn),
        Item::Impl(item_impl) => impl_block(&args, item_impl),
        other => Err(syn::Error::new_spanned(
            item_keyword(other),
            "#[hot] goes on a `fn` or on an inherent `impl` block; for a type that \
             hot functions take or return, `#[derive(hotreload_runtime::Layout)]` gives \
             a deep layout check",
        )),
    };
    match expanded {
        Ok(on) => {
            // The runtime's `hot_item!` keeps one of the two groups,
            // depending on its `reload` feature.
            let krate = &args.krate;
            quote! {
                #krate::__private::hot_item! {
                    { #input }
                    { #on }
                }
            }
        }
        Err(error) => with_error(input, error),
    }
}

fn with_error(input: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    quote!(#input #error)
}

/// The tokens to point an "unsupported item" error at: the item's keyword
/// and name rather than its whole body.
fn item_keyword(item: &Item) -> TokenStream {
    match item {
        Item::Struct(i) => keyword_and_name(&i.struct_token, &i.ident),
        Item::Enum(i) => keyword_and_name(&i.enum_token, &i.ident),
        Item::Trait(i) => keyword_and_name(&i.trait_token, &i.ident),
        Item::Mod(i) => keyword_and_name(&i.mod_token, &i.ident),
        Item::Static(i) => keyword_and_name(&i.static_token, &i.ident),
        Item::Const(i) => keyword_and_name(&i.const_token, &i.ident),
        other => other.to_token_stream(),
    }
}

fn keyword_and_name(keyword: &impl ToTokens, name: &syn::Ident) -> TokenStream {
    quote!(#keyword #name)
}

fn free_fn(args: &Args, item: &ItemFn) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    valid::signature(&item.sig, false, &mut errors);
    errors.finish()?;
    let hot = HotFn {
        attrs: &item.attrs,
        vis: &item.vis,
        sig: &item.sig,
        block: &item.block,
        self_ty: None,
    };
    let hot = hot.expand(&args.krate);
    let (inside, outside) = (hot.inside, hot.outside);
    Ok(quote!(#inside #outside))
}

fn impl_block(args: &Args, item: &ItemImpl) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    valid::item_impl(item, &mut errors);
    errors.finish()?;
    let mut items = Vec::new();
    let mut modules = Vec::new();
    for impl_item in &item.items {
        match impl_item {
            ImplItem::Fn(method) => {
                let hot = HotFn {
                    attrs: &method.attrs,
                    vis: &method.vis,
                    sig: &method.sig,
                    block: &method.block,
                    self_ty: Some(&item.self_ty),
                };
                let hot = hot.expand(&args.krate);
                items.push(hot.inside);
                modules.push(hot.outside);
            }
            other => items.push(other.to_token_stream()),
        }
    }
    let attrs = &item.attrs;
    let impl_token = &item.impl_token;
    let self_ty = &item.self_ty;
    Ok(quote! {
        #(#attrs)*
        #impl_token #self_ty {
            #(#items)*
        }
        #(#modules)*
    })
}

/// The expansion of one hot function.
struct Expanded {
    /// Where the function was: the trampoline (and, without a module of
    /// its own, the implementation).
    inside: TokenStream,
    /// Items to put beside the `impl` block (for a free function, beside
    /// the trampoline): the implementation's own module.
    outside: TokenStream,
}

/// Whether `tokens` name a path relative to the current module (`self::x`,
/// `super::x`), which would mean something else one module down.
fn has_relative_path(tokens: TokenStream) -> bool {
    let mut previous_was_self_or_super = false;
    let mut colons = 0;
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Group(group) => {
                if has_relative_path(group.stream()) {
                    return true;
                }
                previous_was_self_or_super = false;
            }
            proc_macro2::TokenTree::Ident(ident) => {
                previous_was_self_or_super = ident == "self" || ident == "super";
                colons = 0;
            }
            proc_macro2::TokenTree::Punct(punct) if punct.as_char() == ':' => {
                colons += 1;
                if previous_was_self_or_super && colons == 2 {
                    return true;
                }
            }
            _ => previous_was_self_or_super = false,
        }
    }
    false
}

/// One function to make hot: a free function or a method.
struct HotFn<'a> {
    attrs: &'a [Attribute],
    vis: &'a Visibility,
    sig: &'a Signature,
    block: &'a Block,
    /// The impl's self type, for methods.
    self_ty: Option<&'a Type>,
}

impl HotFn<'_> {
    /// The implementation function and the trampoline.
    ///
    /// The implementation goes into a module of its own
    /// (`__hotreload_<name>`, with `use super::*`) so that rustc compiles
    /// it in a codegen unit of its own: an edit recompiles that function's
    /// code, not every function of its module (the `bevy_ecs` benchmark:
    /// 91 -> 62 ms of code generation for an edit beside a function using
    /// bevy). Not when the body or signature names `self::` or `super::`
    /// paths, which mean something else one module down.
    fn expand(&self, krate: &syn::Path) -> Expanded {
        let private = quote!(#krate::__private);
        let name = &self.sig.ident;
        let impl_name = format_ident!("__hotreload_impl_{}", name);
        let own_module = (!has_relative_path(krate.to_token_stream())
            && !has_relative_path(self.sig.to_token_stream())
            && !has_relative_path(self.block.to_token_stream())
            && self
                .self_ty
                .is_none_or(|ty| !has_relative_path(ty.to_token_stream())))
        .then(|| match self.self_ty {
            Some(self_ty) => {
                let ty: String = compact(self_ty)
                    .chars()
                    .map(|c| if c.is_alphanumeric() { c } else { '_' })
                    .collect();
                format_ident!("__hotreload_{}_{}", ty, name)
            }
            None => format_ident!("__hotreload_{}", name),
        });
        let path_const = format_ident!("__HOTRELOAD_PATH_{}", name);

        // The implementation: the user's signature and body under a hidden
        // name. Lint and cfg attributes apply to it as well.
        let mut impl_sig = self.sig.clone();
        impl_sig.ident = impl_name.clone();
        let lint_attrs: Vec<&Attribute> = self
            .attrs
            .iter()
            .filter(|attr| {
                [
                    "allow", "expect", "warn", "deny", "forbid", "cfg", "cfg_attr",
                ]
                .iter()
                .any(|name| attr.path().is_ident(name))
            })
            .collect();
        let cfg_attrs: Vec<&&Attribute> = lint_attrs
            .iter()
            .filter(|attr| attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr"))
            .collect();
        let block = self.block;
        let closure_output = match &self.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(arrow, ty) => Some(quote!(#arrow #ty)),
        };
        let impl_path = match (self.self_ty, &own_module) {
            (Some(self_ty), _) => quote!(<#self_ty>::#impl_name),
            (None, Some(module)) => quote!(#module::#impl_name),
            (None, None) => quote!(#impl_name),
        };
        let path_suffix = match self.self_ty {
            Some(self_ty) => format!("::{}::{}", compact(self_ty), name),
            None => format!("::{name}"),
        };
        // The function's path as the registry has it (`module_path!()` one
        // module down would name the implementation's module).
        let path = quote!(::core::concat!(::core::module_path!(), #path_suffix));
        let path_in_impl = match (&own_module, self.self_ty) {
            (None, _) => path.clone(),
            (Some(_), Some(self_ty)) => quote!(<#self_ty>::#path_const),
            (Some(_), None) => quote!(super::#path_const),
        };
        let path_item = own_module.as_ref().map(|_| {
            quote! {
                #[doc(hidden)]
                #[allow(non_upper_case_globals)]
                #(#cfg_attrs)*
                const #path_const: &'static str = #path;
            }
        });
        let impl_vis = own_module.as_ref().map(|_| quote!(pub(super)));
        // The implementation's own path, from where it is defined.
        let self_path = match self.self_ty {
            Some(_) => impl_path.clone(),
            None => quote!(#impl_name),
        };
        // A panic must not unwind out of a reloaded build (two copies of
        // std: the host would abort on the foreign exception). The body runs
        // under catch_unwind; `hot_panic` hands the panic to the host.
        let implementation = quote! {
            #[doc(hidden)]
            #(#lint_attrs)*
            #impl_vis #impl_sig {
                match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(
                    move || #closure_output #block
                )) {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(payload) => #private::hot_panic(
                        #self_path as *const (),
                        #path_in_impl,
                        payload,
                    ),
                }
            }
        };
        let (inside_impl, outside) = match (&own_module, self.self_ty) {
            (None, _) => (implementation, TokenStream::new()),
            (Some(module), self_ty) => {
                let implementation = match self_ty {
                    Some(self_ty) => quote!(impl #self_ty { #implementation }),
                    None => implementation,
                };
                let module = quote! {
                    #[doc(hidden)]
                    #[allow(non_snake_case)]
                    #(#cfg_attrs)*
                    mod #module {
                        #[allow(unused_imports)]
                        use super::*;
                        #implementation
                    }
                };
                (TokenStream::new(), module)
            }
        };

        // The function pointer type of the slot, with `Self` spelled out
        // (statics inside a method cannot name `Self`).
        let mut pointer_args = Vec::new();
        let mut params = Vec::new();
        let mut call_args = Vec::new();
        // How each argument can be passed twice (to retry a call whose new
        // code panicked with the rolled-back code); `None` if it cannot.
        let mut retry_args: Vec<Option<TokenStream>> = Vec::new();
        for (index, arg) in self.sig.inputs.iter().enumerate() {
            match arg {
                FnArg::Receiver(receiver) => {
                    let self_ty = self.self_ty.expect("validated: receivers only in impls");
                    let ty: Type = match &receiver.kind {
                        ReceiverKind::Value => self_ty.clone(),
                        ReceiverKind::Reference(and, lifetime, mutability) => {
                            syn::parse_quote!(#and #lifetime #mutability #self_ty)
                        }
                        ReceiverKind::Typed(_, ty) => (**ty).clone(),
                        _ => self_ty.clone(),
                    };
                    pointer_args.push(ty);
                    let mut receiver = receiver.clone();
                    receiver.mutability = None;
                    params.push(receiver.to_token_stream());
                    call_args.push(quote!(self));
                    retry_args.push(match &receiver.kind {
                        ReceiverKind::Reference(_, _, Some(_)) => Some(quote!(&mut *self)),
                        ReceiverKind::Reference(_, _, None) => Some(quote!(self)),
                        _ => None,
                    });
                }
                FnArg::Typed(pat_type) => {
                    let arg_name = format_ident!("__hot_arg{}", index);
                    let ty = &pat_type.ty;
                    pointer_args.push((**ty).clone());
                    params.push(quote!(#arg_name: #ty));
                    call_args.push(arg_name.to_token_stream());
                    retry_args.push(reusable(ty, &arg_name));
                }
            }
        }
        let mut output = match &self.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        if let Some(self_ty) = self.self_ty {
            let mut replace = ReplaceSelf(self_ty);
            pointer_args
                .iter_mut()
                .for_each(|ty| replace.visit_type_mut(ty));
            if let Some(ty) = &mut output {
                replace.visit_type_mut(ty);
            }
        }
        let lifetimes: Vec<_> = self.sig.generics.lifetimes().map(|l| &l.lifetime).collect();
        let for_lifetimes = (!lifetimes.is_empty()).then(|| quote!(for<#(#lifetimes),*>));
        let unsafety = &self.sig.safety;
        let arrow_output = output.as_ref().map(|ty| quote!(-> #ty));
        let pointer = quote!(#for_lifetimes #unsafety fn(#(#pointer_args),*) #arrow_output);

        // What the registry knows about the function.
        let signature = compact(&pointer);
        let source_hash = fnv1a(
            format!(
                "{}{}",
                self.sig.to_token_stream(),
                self.block.to_token_stream()
            )
            .as_bytes(),
        );
        let probes = pointer_args
            .iter()
            .chain(output.iter())
            .map(|ty| probe(&private, ty));
        let invoke = |args: &[TokenStream]| match unsafety {
            syn::Safety::Unsafe(_) => quote!(unsafe { __hot_fn(#(#args),*) }),
            _ => quote!(__hot_fn(#(#args),*)),
        };
        let load = quote! {
            // SAFETY: the slot only ever holds a function of type
            // `__HotFn`: the static implementation above, or one from a
            // reloaded build whose signature and layouts were verified to
            // match.
            let __hot_fn = unsafe {
                ::core::mem::transmute::<*mut (), __HotFn>(__HOT_SLOT.get())
            };
        };
        let call = invoke(&call_args);
        let retry: Option<Vec<TokenStream>> = retry_args.into_iter().collect();
        let borrows_result = output.as_ref().is_some_and(has_lifetime);
        let call = match retry {
            // Every argument can be passed again: if the new code panics and
            // is rolled back, the call is retried with the last good code.
            Some(first_args) if !borrows_result => {
                let first = invoke(&first_args);
                quote! {
                    #load
                    match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| #first)) {
                        ::core::result::Result::Ok(value) => value,
                        ::core::result::Result::Err(payload) => {
                            #private::resume_unless_rolled_back(payload);
                            #load
                            #call
                        }
                    }
                }
            }
            _ => quote!(#load #call),
        };

        let attrs = self.attrs;
        let has_inline = self.attrs.iter().any(|attr| attr.path().is_ident("inline"));
        let inline = (!has_inline).then(|| quote!(#[inline]));
        let vis = self.vis;
        let mut trampoline_sig = self.sig.clone();
        trampoline_sig.inputs = syn::parse_quote!(#(#params),*);
        let linkme = quote!(#private::linkme);
        let trampoline = quote! {
            #(#attrs)*
            #inline
            #vis #trampoline_sig {
                type __HotFn = #pointer;
                static __HOT_SLOT: #private::Slot =
                    #private::Slot::new(#impl_path as __HotFn as *mut ());
                #[#linkme::distributed_slice(#private::ENTRIES)]
                #[linkme(crate = #linkme)]
                static __HOT_ENTRY: #private::Entry = #private::Entry::new(
                    &__HOT_SLOT,
                    #path,
                    #signature,
                    {
                        fn layout(types: &mut #private::TypeLayouts) {
                            #[allow(unused_imports)]
                            use #private::{DeepLayout as _, NameLayout as _, ShallowLayout as _};
                            #(#probes)*
                        }
                        layout
                    },
                    #source_hash,
                    ::core::env!("CARGO_PKG_NAME"),
                    ::core::env!("CARGO_MANIFEST_DIR"),
                );
                #private::link_dependencies!();
                #call
            }
        };
        Expanded {
            inside: quote!(#inside_impl #path_item #trampoline),
            outside,
        }
    }
}

/// A statement that adds the layout of `ty`, labelled with the type as
/// written. References are looked through: what matters is the layout of
/// the data they point at.
fn probe(private: &TokenStream, ty: &Type) -> TokenStream {
    let mut ty = ty.clone();
    let mut tags = Vec::new();
    while let Type::Reference(reference) = ty {
        tags.push(if reference.mutability.is_some() {
            "&mut"
        } else {
            "&"
        });
        ty = *reference.elem;
    }
    let tags = tags.concat();
    let label = compact(&ty);
    StaticLifetimes.visit_type_mut(&mut ty);
    quote! {
        types.add(#label, |hasher| {
            hasher.tag(#tags);
            (&&&#private::Probe::<#ty>::new()).layout(hasher);
        });
    }
}

/// How an argument of type `ty` can be passed a first time and still be
/// passed again: references are reborrowed, primitives copied; anything else
/// is moved by the first call (`None`).
fn reusable(ty: &Type, name: &syn::Ident) -> Option<TokenStream> {
    const COPY: &[&str] = &[
        "bool", "char", "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16",
        "u32", "u64", "u128", "usize",
    ];
    match ty {
        Type::Reference(reference) if reference.mutability.is_some() => Some(quote!(&mut *#name)),
        Type::Reference(_) => Some(quote!(#name)),
        Type::Path(path)
            if COPY
                .iter()
                .any(|p| path.qself.is_none() && path.path.is_ident(p)) =>
        {
            Some(quote!(#name))
        }
        Type::Paren(inner) => reusable(&inner.elem, name),
        _ => None,
    }
}

/// Whether a type borrows (a reference or a named lifetime in it): such a
/// result cannot come out of the retry closure.
fn has_lifetime(ty: &Type) -> bool {
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

/// Replaces the type `Self` with the impl's self type.
struct ReplaceSelf<'a>(&'a Type);

impl VisitMut for ReplaceSelf<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::Path(path) = ty
            && path.qself.is_none()
            && path.path.is_ident("Self")
        {
            *ty = self.0.clone();
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

/// Replaces every lifetime with `'static`, so a type from the signature can
/// be named inside the function body.
struct StaticLifetimes;

impl VisitMut for StaticLifetimes {
    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        *lifetime = syn::Lifetime::new("'static", Span::call_site());
    }
}

/// Tokens as a string without the spaces `TokenStream` puts between every
/// token: `fn(&mut World, f32) -> i32`.
fn compact(tokens: &impl ToTokens) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '\'';
    let spaced = tokens.to_token_stream().to_string();
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

/// FNV-1a: a stable hash that does not depend on the compiler's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two halves of the output, pretty-printed: what the program
    /// compiles without and with the runtime's `reload` feature.
    fn expand_both(args: TokenStream, input: TokenStream) -> (String, String) {
        let output = hot(args, input.clone());
        let mac: syn::Macro = syn::parse2(output).expect("output is one hot_item! call");
        let groups: Vec<proc_macro2::TokenTree> = mac.tokens.into_iter().collect();
        let [
            proc_macro2::TokenTree::Group(off),
            proc_macro2::TokenTree::Group(on),
        ] = groups.as_slice()
        else {
            panic!("expected two groups, got {groups:?}");
        };
        // Without `reload`, the item is exactly what the user wrote.
        assert_eq!(off.stream().to_string(), input.to_string());
        let pretty = |tokens: TokenStream| {
            prettyplease::unparse(&syn::parse2(tokens).expect("expansion parses as a file"))
        };
        (pretty(off.stream()), pretty(on.stream()))
    }

    #[test]
    fn free_function() {
        let (off, on) = expand_both(
            quote!(),
            quote! {
                /// Advances the world.
                pub fn step(world: &mut World, dt: f32) -> usize {
                    world.advance(dt)
                }
            },
        );
        insta::assert_snapshot!("free_function_reload_off", off);
        insta::assert_snapshot!("free_function_reload_on", on);
    }

    #[test]
    fn inherent_impl() {
        let (off, on) = expand_both(
            quote!(),
            quote! {
                impl Player {
                    pub fn damage(&self) -> i32 { 7 }
                    pub fn heal(&mut self, amount: i32) { self.hp += amount; }
                    pub fn spawn(hp: i32) -> Self { Player { hp } }
                    const MAX: i32 = 100;
                }
            },
        );
        insta::assert_snapshot!("inherent_impl_reload_off", off);
        insta::assert_snapshot!("inherent_impl_reload_on", on);
    }

    #[test]
    fn lifetimes_unsafe_and_crate_path() {
        let (_, on) = expand_both(
            quote!(crate = "engine::hot"),
            quote! {
                pub unsafe fn first<'a>(items: &'a [u8]) -> &'a u8 { &items[0] }
            },
        );
        insta::assert_snapshot!("lifetimes_unsafe_and_crate_path", on);
    }

    #[test]
    fn a_body_with_a_super_path_keeps_the_implementation_beside_it() {
        let (_, on) = expand_both(
            TokenStream::new(),
            quote! {
                pub fn score() -> u32 { super::BONUS + 1 }
            },
        );
        assert!(!on.contains("mod __hotreload_score"), "{on}");
        assert!(on.contains("fn __hotreload_impl_score"), "{on}");
    }

    #[test]
    fn relative_paths_are_found_at_any_depth() {
        assert!(has_relative_path(quote!(super::helper())));
        assert!(has_relative_path(quote!({
            let x = self::CONST;
        })));
        assert!(has_relative_path(quote!(f(crate::a, (super::b)))));
        assert!(!has_relative_path(quote!(
            self.hp += crate::bonus(Self::BASE)
        )));
        assert!(!has_relative_path(quote!(hotreload_runtime::hot)));
    }

    #[test]
    fn compact_signatures() {
        assert_eq!(
            compact(&quote!(fn(&mut World, f32) -> Option<Vec<u8>>)),
            "fn(&mut World, f32) -> Option<Vec<u8>>"
        );
        assert_eq!(
            compact(&quote!(for<'a> unsafe fn(&'a str) -> &'a str)),
            "for<'a> unsafe fn(&'a str) -> &'a str"
        );
    }
}
