//! Builds the output of `#[hot]`.
//!
//! For `pub fn step(world: &mut World, dt: f32) -> u32 { body }` the output
//! without the runtime's `reload` feature is the item as written; with it,
//!
//! ```ignore
//! // the body: the function as written, renamed; every lint of the user's
//! // code fires here, once, and `module_path!()` is the same
//! fn __hotreload_impl_step(world: &mut World, dt: f32) -> u32 { body }
//! // what the slot points at: lifetimes spelled out and late-bound; a
//! // panic in the body is handed to the program
//! fn __hotreload_thunk_step<'__hot_l0>(__hot_arg0: &'__hot_l0 mut World, __hot_arg1: f32) -> u32 {
//!     guard(&__HOTRELOAD_ENTRY_STEP, Compiled::<{ cfg!(hotreload_build) }>,
//!         move || { let (..) = (..); __hotreload_impl_step(__hot_arg0, __hot_arg1) })
//! }
//! // the registry entry, in the linker section the core crate reads; its
//! // slot starts at the statically linked thunk: no build, no dylib
//! #[used] #[unsafe(link_section = "hotreload_entries")]
//! static __HOTRELOAD_ENTRY_STEP: Entry = Entry::new(__hotreload_thunk_step as .. as *mut (),
//!     concat!(module_path!(), "::step"), "fn(&mut World, f32) -> u32", layouts, ..);
//! const _: () = { #[cfg(hotreload_deps)] extern crate hotreload_deps as _; };
//!
//! // the trampoline: the user's signature and attributes
//! #[inline]
//! pub fn step(__hot_arg0: &mut World, __hot_arg1: f32) -> u32 {
//!     type __HotFn = for<'__hot_l0> fn(&'__hot_l0 mut World, f32) -> u32;
//!     let __hot_slot = &__HOTRELOAD_ENTRY_STEP.slot;
//!     // one load and one indirect call; retried once if new code panicked
//!     // and was rolled back
//!     let __hot_call = |__hot_fn: __HotFn| __hot_fn(&mut *__hot_arg0, __hot_arg1);
//!     // SAFETY: the slot only ever holds functions of type __HotFn
//!     unsafe { call_retrying(__hot_slot, __hot_call) }
//! }
//! ```
//!
//! Every token here is compiled again on every hot build (a proc macro's
//! output is never reused by incremental compilation), so the expansion is
//! kept small: one static per function, no nested macro calls, the shared
//! work in generic helpers of the core crate. See the README's "Many hot
//! functions" for what each function costs a rebuild.
//!
//! A method of an inherent impl has its body in an `impl Type` block; a
//! method of a trait impl has it in a helper trait implemented for the self
//! type (see `ImplBlock::helper_items`), or as a free function when the
//! trait's path has lifetimes (see `free_body`). The trampoline stays in
//! the user's impl block, and the rest goes beside the block.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, FnArg, Ident, ImplItem, Item, ItemImpl, Pat, PatIdent, ReceiverKind, ReturnType,
    Signature, Type, Visibility,
};

use crate::attr::Args;
use crate::free_body::{self, SelfIs};
use crate::probe::{probe, probe_traits};
use crate::signature::{ImplOf, Pointer, ReplaceSelf};
use crate::valid::{self, Errors};

/// Entry point: never panics; on an error the item is still emitted as the
/// user wrote it, next to the `compile_error!`, so the user's own errors
/// stay visible.
///
/// `reload`: whether the runtime's `reload` feature is on (this crate's
/// `reload` feature follows it). Off, the output is the input, unparsed:
/// a build without the feature compiles as fast as one without `#[hot]`
/// (misuse of `#[hot]` is then reported only with the feature on).
pub fn hot(args: TokenStream, input: TokenStream, reload: bool) -> TokenStream {
    if !reload {
        return input;
    }
    let args = match Args::parse("hot", args) {
        Ok(args) => args,
        Err(error) => return with_error(input, error),
    };
    // In a quick build, a free function left to the program is not parsed
    // beyond its signature.
    if crate::thin::active()
        && let Ok(header) = syn::parse2::<FnHeader>(input.clone())
        && crate::thin::is_thin(&header.sig.ident)
    {
        let parts = (&header.attrs[..], &header.vis, &header.sig, &header.body);
        return match free_fn(&args, parts, true) {
            Ok(on) => on,
            Err(error) => with_error(input, error),
        };
    }
    // An item that does not parse is handed back untouched: rustc then
    // reports the user's own syntax error instead of ours.
    let Ok(item) = syn::parse2::<Item>(input.clone()) else {
        return input;
    };
    let expanded = match &item {
        Item::Fn(f) => free_fn(&args, (&f.attrs, &f.vis, &f.sig, &f.block), false),
        Item::Impl(item_impl) => impl_block(&args, item_impl),
        Item::Static(item_static) => hot_static(&args, item_static),
        other => Err(syn::Error::new_spanned(
            item_keyword(other),
            "#[hot] goes on a `fn`, an `impl` block or a `static`; for a type that hot functions \
             take or return, `#[derive(hotreload_runtime::Layout)]` gives a deep layout check",
        )),
    };
    match expanded {
        Ok(on) => on,
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
    let keyword_and_name = |keyword: &dyn ToTokens, name: &syn::Ident| quote!(#keyword #name);
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

/// A hot free function (its attributes, visibility, signature, body);
/// `thin`: left to the program by a quick build.
fn free_fn(
    args: &Args,
    (attrs, vis, sig, block): (&[Attribute], &Visibility, &Signature, &syn::Block),
    thin: bool,
) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    valid::signature(sig, false, &mut errors);
    errors.finish()?;
    let hot = HotFn {
        send: args.send,
        attrs,
        vis,
        sig,
        block,
        impl_block: None,
    };
    let hot = if thin {
        hot.expand_thin(&args.krate)
    } else {
        hot.expand_as_needed(&args.krate)
    };
    let (beside, trampoline) = (hot.beside, hot.trampoline);
    Ok(quote!(#beside #trampoline))
}

/// A free function up to its body, which is kept unparsed.
struct FnHeader {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    body: syn::Block,
}

impl syn::parse::Parse for FnHeader {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<FnHeader> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body = input.step(|cursor| match cursor.group(proc_macro2::Delimiter::Brace) {
            Some((_, span, rest)) => Ok((
                syn::Block {
                    brace_token: syn::token::Brace(span),
                    stmts: Vec::new(),
                },
                rest,
            )),
            None => Err(cursor.error("expected a function body")),
        })?;
        Ok(FnHeader {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

/// `#[hot] static NAME: T = init;`: the initializer becomes this build's
/// own instance, and `NAME` a `HotStatic<T>` that dereferences to the
/// program's instance in every build (see `hotreload_core::state`).
fn hot_static(args: &Args, item: &syn::ItemStatic) -> syn::Result<TokenStream> {
    if let syn::StaticMutability::Mut(mutability) = &item.mutability {
        return Err(syn::Error::new_spanned(
            mutability,
            "#[hot] cannot be used on a `static mut`: give the static a type with interior \
             mutability (an atomic, a `Mutex`) instead",
        ));
    }
    let krate = &args.krate;
    let private = quote!(#krate::__private);
    let syn::ItemStatic {
        attrs,
        vis,
        static_token,
        ident,
        ty,
        expr,
        ..
    } = item;
    let attrs = Attrs(attrs);
    let cfgs = attrs.cfgs();
    let upper = ident.to_string().to_uppercase();
    let own = format_ident!("__HOTRELOAD_OWN_{}", upper);
    let entry = format_ident!("__HOTRELOAD_STATIC_{}", upper);
    let label = compact(ty);
    let probe = probe_statement(&private, ty);
    let traits = probe_traits(&private);
    let section = section_attrs("hotreload_statics", "__hr_statics");
    let attrs = attrs.for_trampoline();
    let name = ident.to_string();
    Ok(quote! {
        #[doc(hidden)]
        #(#cfgs)*
        #static_token #own: #ty = #expr;
        #(#attrs)*
        #vis #static_token #ident: #private::HotStatic<#ty> = #private::HotStatic::new(&#own);
        #[doc(hidden)]
        #(#cfgs)*
        #section
        #static_token #entry: #private::StaticEntry = #private::StaticEntry::new(
            &#ident,
            ::core::concat!(::core::module_path!(), "::", #name),
            #label,
            {
                fn layout(types: &mut #private::TypeLayouts) {
                    #traits
                    #probe
                }
                layout
            },
            ::core::env!("CARGO_PKG_NAME"),
        );
    })
}

/// Every method that can be hot becomes hot; every other item (a `const
/// fn`, a generic method, an associated type or const) stays as written.
fn impl_block(args: &Args, item: &ItemImpl) -> syn::Result<TokenStream> {
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
struct ImplBlock<'a> {
    item: &'a ItemImpl,
    /// The names the block defines (methods, types, consts): `Self::Name`
    /// in a trait impl means the trait's item.
    names: Vec<syn::Ident>,
    /// `Player`, `<&App as Widget>`: for registry paths.
    display: String,
    /// Words and a hash of the self type and trait, for item names.
    key: String,
    /// The helper trait that holds the bodies of a trait impl's hot methods
    /// (see [`ImplBlock::helper_items`]); `None` for an inherent impl, and
    /// for a trait whose path has lifetimes (`From<&'a str>`), whose bodies
    /// become free functions instead.
    helper: Option<syn::Ident>,
    /// `helper` with the impl's lifetimes (see [`ImplBlock::helper_path`]).
    helper_path: Option<syn::Path>,
}

impl<'a> ImplBlock<'a> {
    fn new(item: &'a ItemImpl) -> ImplBlock<'a> {
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

    fn self_ty(&self) -> &Type {
        &self.item.self_ty
    }

    fn trait_path(&self) -> Option<&syn::Path> {
        self.item.trait_.as_ref().map(|(path, _)| path)
    }

    fn of(&self) -> ImplOf<'_> {
        ImplOf {
            self_ty: self.self_ty(),
            trait_: self.trait_path().map(|path| (path, self.names.as_slice())),
            helper: self.helper_path.as_ref(),
        }
    }

    /// The helper trait with the impl's lifetimes: `Helper<'a>`.
    fn helper_path(&self, helper: &syn::Ident) -> syn::Path {
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
    fn helper_items(
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
fn trait_in_scope(trait_path: &syn::Path) -> TokenStream {
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
fn has_lifetime_in(path: &syn::Path) -> bool {
    has_lifetime(&syn::parse_quote!(#path))
}

/// The `Name`s of `Self::Name` in the signatures' types.
fn self_projections<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Vec<syn::Ident> {
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
fn defaults_to_self(trait_path: &syn::Path) -> bool {
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
fn has_self_by_value(sig: &Signature) -> bool {
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
    fn is_self(ty: &Type) -> bool {
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
struct HelperBody {
    /// The body's signature (for the declaration).
    sig: Signature,
    /// The method's `cfg`s (for the declaration).
    cfgs: Vec<Attribute>,
    definition: TokenStream,
}

/// A method's declaration in the helper trait: its signature with `_` for
/// each argument's pattern (a declaration takes no patterns) and no `mut`
/// on the receiver.
fn declaration(body: &HelperBody) -> TokenStream {
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

/// The expansion of one hot function.
struct Expanded {
    /// The body as a method of the impl block's helper trait (see
    /// [`ImplBlock::helper_items`]).
    helper_body: Option<HelperBody>,
    /// Where the function was.
    trampoline: TokenStream,
    /// Beside it (for a method: beside the impl block): the registry path,
    /// the body and the thunk, in a module of their own if they can be.
    beside: TokenStream,
}

/// One function to make hot: a free function or a method.
struct HotFn<'a> {
    /// `#[hot(?Send)]` was not given.
    send: bool,
    attrs: &'a [Attribute],
    vis: &'a Visibility,
    sig: &'a Signature,
    block: &'a syn::Block,
    impl_block: Option<&'a ImplBlock<'a>>,
}

impl HotFn<'_> {
    /// [`HotFn::expand`], or [`HotFn::expand_thin`] for a function a quick
    /// build leaves to the program (see [`crate::thin`]).
    fn expand_as_needed(&self, krate: &syn::Path) -> Expanded {
        if crate::thin::is_thin(&self.sig.ident) {
            self.expand_thin(krate)
        } else {
            self.expand(krate)
        }
    }

    /// What both expansions start from: the path of the runtime's private
    /// items, the generated names, the slot's function pointer type.
    fn prepare(&self, krate: &syn::Path) -> (TokenStream, Names, Pointer) {
        let private = quote!(#krate::__private);
        let names = Names::new(self);
        let pointer = Pointer::new(
            self.sig,
            self.impl_block.map(ImplBlock::of),
            &private,
            self.send,
        );
        (private, names, pointer)
    }

    /// Only the trampoline, calling through the program's slot: no body,
    /// thunk or entry. The slot is found by path when the build is loaded.
    fn expand_thin(&self, krate: &syn::Path) -> Expanded {
        let (private, names, pointer) = self.prepare(krate);
        let suffix = &names.suffix;
        let slot = quote!(#private::thin_slot!(#suffix));
        // The dependencies library is named once per crate: by the first
        // thin function this compiler process expands (a full one names it
        // too).
        static NAMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let first = !NAMED.swap(true, std::sync::atomic::Ordering::Relaxed);
        Expanded {
            helper_body: None,
            trampoline: self.trampoline(&private, &slot, &pointer, None),
            beside: if first {
                link_dependencies()
            } else {
                TokenStream::new()
            },
        }
    }

    /// The steps, each its own method below.
    fn expand(&self, krate: &syn::Path) -> Expanded {
        let (private, names, pointer) = self.prepare(krate);
        let body = self.body(&names, &pointer);
        let body_item = &body.item;
        let thunk = self.thunk(&private, &names, &pointer, &body.call);
        let registration = self.registration(&private, &names, &pointer);
        let entry = &names.entry;
        let slot = quote!(&#entry.slot);
        let trampoline = self.trampoline(&private, &slot, &pointer, Some(&body.direct));
        Expanded {
            helper_body: body.helper,
            trampoline,
            beside: self.beside([body_item.clone(), thunk, registration, link_dependencies()]),
        }
    }

    fn is_track_caller(&self) -> bool {
        self.attrs
            .iter()
            .any(|attr| attr.path().is_ident("track_caller"))
    }

    /// The user's function under the body's name, as written: a free
    /// function, or in an `impl` block of the self type (inherent impls),
    /// or as a free function taking `__hot_self` (trait impls).
    fn body(&self, names: &Names, pointer: &Pointer) -> Body {
        let mut attrs = Attrs(self.attrs).for_body();
        // Lints about the signature alone fire on the trampoline, which has
        // the same one: once.
        attrs.push(quote! {
            #[allow(
                mismatched_lifetime_syntaxes,
                clippy::too_many_arguments,
                clippy::needless_lifetimes,
                clippy::type_complexity
            )]
        });
        // An attribute macro applies to the trampoline, whose arguments
        // have the user's names (see `param_name`), and may use an argument
        // the body does not (`#[instrument]` records them all): the body
        // must not warn where the user's function would not.
        if Attrs(self.attrs).has_macro() {
            attrs.push(quote!(#[allow(unused_variables)]));
        }
        let track_caller = self.is_track_caller().then(|| quote!(#[track_caller]));
        let ident = &names.body;
        let inner = Attrs(self.attrs).inner();
        let stmts = &self.block.stmts;
        let block = braced(self.block, quote!(#(#inner)* #(#stmts)*));
        let mut sig = self.sig.clone();
        sig.ident = ident.clone();
        let Some(impl_block) = self.impl_block else {
            return Body {
                item: quote! {
                    #[doc(hidden)]
                    #(#attrs)*
                    #track_caller
                    #sig #block
                },
                call: quote!(#ident),
                direct: quote!(#ident),
                helper: None,
            };
        };
        let self_ty = impl_block.self_ty();
        let mapped_self_ty = pointer.self_ty.as_ref().unwrap_or(self_ty);
        let Some(trait_path) = impl_block.trait_path() else {
            let generics = &impl_block.item.generics;
            return Body {
                item: quote! {
                    impl #generics #self_ty {
                        #[doc(hidden)]
                        #(#attrs)*
                        #track_caller
                        #sig #block
                    }
                },
                call: quote!(<#mapped_self_ty>::#ident),
                direct: quote!(Self::#ident),
                helper: None,
            };
        };
        if let Some(helper) = &impl_block.helper {
            // A trait method: a method of the block's helper trait.
            let trait_use = trait_in_scope(trait_path);
            let block = braced(self.block, quote!(#(#inner)* #trait_use #(#stmts)*));
            let mapped_helper = pointer.mapped(&impl_block.helper_path(helper));
            return Body {
                item: TokenStream::new(),
                helper: Some(HelperBody {
                    sig: sig.clone(),
                    cfgs: Attrs(self.attrs).cfgs().into_iter().cloned().collect(),
                    definition: quote! {
                        #(#attrs)*
                        #track_caller
                        #sig #block
                    },
                }),
                call: quote!(<#mapped_self_ty as #mapped_helper>::#ident),
                direct: quote!(<Self as #helper>::#ident),
            };
        }
        // A trait method: a free function of its own.
        let named_self_ty = crate::signature::name_anonymous(self_ty);
        let self_is = SelfIs {
            ty: &named_self_ty.ty,
            trait_: trait_path,
            names: &impl_block.names,
        };
        let params = free_body::params(self.sig, &self_is);
        let receiver = receiver_lifetime(self.sig);
        let mut output = self.sig.output.clone();
        if let (ReturnType::Type(_, ty), Some(lifetime)) = (&mut output, &receiver) {
            crate::signature::elided_to(ty, lifetime);
        }
        let output = free_body::rewrite(output.to_token_stream(), &self_is);
        let trait_use = trait_in_scope(trait_path);
        let block = braced(self.block, quote!(#(#inner)* #trait_use #(#stmts)*));
        let block = free_body::rewrite(block, &self_is);
        let lifetimes = impl_block
            .item
            .generics
            .lifetimes()
            .map(|l| &l.lifetime)
            .chain(&named_self_ty.lifetimes)
            .chain(receiver.as_ref().filter(|l| l.ident == "__hot_r"))
            .chain(self.sig.generics.lifetimes().map(|l| &l.lifetime));
        let (asyncness, unsafety) = (&self.sig.asyncness, &self.sig.safety);
        Body {
            item: quote! {
                #[doc(hidden)]
                #(#attrs)*
                #track_caller
                #asyncness #unsafety fn #ident<#(#lifetimes),*>(#params) #output #block
            },
            helper: None,
            call: quote!(#ident),
            direct: quote!(#ident),
        }
    }

    /// What the slots point at: calls the body, and hands a panic in it to
    /// the program (`guard`), from the build the body is in (a panic
    /// cannot unwind out of a reloaded build: each has its own `std`).
    /// Arguments are moved into the guarded closure, so a result that
    /// borrows from one can leave it.
    fn thunk(
        &self,
        private: &TokenStream,
        names: &Names,
        pointer: &Pointer,
        call: &TokenStream,
    ) -> TokenStream {
        let args: Vec<_> = (0..pointer.inputs.len())
            .map(|i| format_ident!("__hot_arg{}", i))
            .collect();
        let inputs = &pointer.inputs;
        let extra = pointer.extra.as_ref().map(|ty| quote!(_: #ty));
        let output = pointer.output.as_ref().map(|ty| quote!(-> #ty));
        let lifetimes = &pointer.lifetimes;
        let (thunk, entry) = (&names.thunk, &names.entry);
        let unsafety = pointer.unsafety.then(|| quote!(unsafe));
        let rebind = (!args.is_empty()).then(|| quote!(let (#(#args,)*) = (#(#args,)*);));
        let mut call = quote!(#call(#(#args),*));
        if pointer.unsafety {
            call = quote!(unsafe { #call });
        }
        if self.sig.asyncness.is_some() {
            if self.send {
                call = quote!(#private::future_must_be_send_or_mark_the_fn_hot_not_send(#call));
            }
            // Calling an `async fn` runs none of its code: guard the polls.
            return quote! {
                #[doc(hidden)]
                #[allow(unexpected_cfgs)]
                #unsafety fn #thunk<#(#lifetimes),*>(#(#args: #inputs,)* #extra) #output {
                    #private::guard_future(&#entry, #private::Compiled::<{ ::core::cfg!(hotreload_build) }>, #call)
                }
            };
        }
        quote! {
            #[doc(hidden)]
            #[allow(unexpected_cfgs)]
            #unsafety fn #thunk<#(#lifetimes),*>(#(#args: #inputs),*) #output {
                #private::guard(&#entry, #private::Compiled::<{ ::core::cfg!(hotreload_build) }>, move || {
                    #rebind
                    #call
                })
            }
        }
    }

    /// The function the program calls: the user's signature and
    /// attributes, its registry entry, and one indirect call.
    /// The function the program calls, calling through `slot` (an
    /// expression of type `&'static Slot`); `direct` is the body's path,
    /// for `#[track_caller]` functions, if this build has the body.
    fn trampoline(
        &self,
        private: &TokenStream,
        slot: &TokenStream,
        pointer: &Pointer,
        direct: Option<&TokenStream>,
    ) -> TokenStream {
        let arguments = self.arguments();
        let call = self.call(private, pointer, &arguments);
        let (params, call_args) = (&arguments.params, &arguments.call);
        // `#[track_caller]`: while the program runs its own code, call the
        // body directly, so `Location::caller()` is the caller's (a call
        // through a function pointer cannot pass it on).
        let direct = direct.filter(|_| self.is_track_caller() && self.sig.asyncness.is_none());
        let direct = direct.map(|direct| {
            let call = quote!(#direct(#(#call_args),*));
            let call = if pointer.unsafety {
                quote!(unsafe { #call })
            } else {
                call
            };
            quote! {
                if __hot_slot.runs_original() {
                    return #call;
                }
            }
        });

        let attrs = Attrs(self.attrs).for_trampoline();
        let has_inline = self.attrs.iter().any(|attr| attr.path().is_ident("inline"));
        let inline = (!has_inline).then(|| quote!(#[inline]));
        let vis = self.vis;
        let mut trampoline_sig = self.sig.clone();
        trampoline_sig.inputs = syn::parse_quote!(#(#params),*);
        let pointer_ty = pointer.ty();
        // The braces are the user's: the item's span then lies in the
        // user's code, and lints on it (`dead_code`) are not taken for
        // lints inside this macro's expansion and dropped.
        let block = braced(
            self.block,
            quote! {
                type __HotFn = #pointer_ty;
                let __hot_slot = #slot;
                #direct
                #call
            },
        );
        quote! {
            #(#attrs)*
            #inline
            #vis #trampoline_sig #block
        }
    }

    /// The trampoline's arguments: as declared, passed on, and passed again.
    fn arguments(&self) -> Arguments {
        let mut arguments = Arguments {
            params: Vec::new(),
            call: Vec::new(),
            again: Some(Vec::new()),
        };
        for (index, arg) in self.sig.inputs.iter().enumerate() {
            let again = match arg {
                FnArg::Receiver(receiver) => {
                    let mut receiver = receiver.clone();
                    receiver.mutability = None;
                    arguments.params.push(receiver.to_token_stream());
                    arguments.call.push(quote!(self));
                    match &receiver.kind {
                        ReceiverKind::Reference(_, _, Some(_)) => Some(quote!(&mut *self)),
                        ReceiverKind::Reference(_, _, None) => Some(quote!(self)),
                        _ => None,
                    }
                }
                FnArg::Typed(pat_type) => {
                    let name = param_name(&pat_type.pat, index);
                    let ty = &pat_type.ty;
                    arguments.params.push(quote!(#name: #ty));
                    arguments.call.push(name.to_token_stream());
                    reusable(ty, &name)
                }
            };
            match (&mut arguments.again, again) {
                (Some(all), Some(again)) => all.push(again),
                (all, _) => *all = None,
            }
        }
        arguments
    }

    /// What the trampoline does with a call whose new code panicked and was
    /// rolled back (`PanickedCall` in the core crate). Retried where every
    /// argument can be passed again, the result does not borrow (it could
    /// not leave the retrying closure), and it is not an `unsafe fn` (its
    /// caller vouched for one call, whose first attempt may have changed
    /// what a second relies on); else returned where the result is `()`.
    fn after_rollback(&self, pointer: &Pointer) -> AfterRollback {
        let (_, output) = self.display_types(true);
        let retried = self.arguments().again.is_some()
            && !output.as_ref().is_some_and(has_lifetime)
            && !pointer.unsafety;
        let unit = match &output {
            None => true,
            Some(Type::Tuple(tuple)) => tuple.elems.is_empty(),
            Some(_) => false,
        };
        if retried {
            AfterRollback::Retried
        } else if unit {
            AfterRollback::Returned
        } else {
            AfterRollback::Panicked
        }
    }

    /// The trampoline's call through the slot, as [`Self::after_rollback`]
    /// says (an `async fn` awaits it).
    fn call(&self, private: &TokenStream, pointer: &Pointer, arguments: &Arguments) -> TokenStream {
        // SAFETY (the `unsafe` around an `unsafe fn`'s call): the
        // trampoline is an `unsafe fn` with the user's contract, and its
        // caller's promise for this one call is passed on (never retried).
        let extra = pointer
            .extra
            .is_some()
            .then(|| quote!(::core::marker::PhantomData));
        let invoke = |args: &[TokenStream]| {
            let args = args.iter().chain(extra.iter());
            if pointer.unsafety {
                quote!(unsafe { __hot_fn(#(#args),*) })
            } else {
                quote!(__hot_fn(#(#args),*))
            }
        };
        let (call, again) = (
            invoke(&arguments.call),
            arguments.again.as_deref().map(invoke),
        );
        let future = self.sig.asyncness.is_some();
        let wait = future.then(|| quote!(.await));
        // SAFETY (the slot's `load`, and the `call_*` helpers that load
        // it): the slot only ever holds a function of type `__HotFn`. Our
        // own entry's slot holds our thunk, or code of a build that the
        // host verified to have this signature and these layout
        // fingerprints. A thin trampoline's slot is the program's: a quick
        // build is made only when every file's skeleton (all but the hot
        // bodies) is the verified live build's, so the function's types
        // are the program's too.
        let helper = |name: &str, call: TokenStream| {
            let name = format_ident!("{name}{}", if future { "_future" } else { "" });
            quote! {
                let __hot_call = |__hot_fn: __HotFn| #call;
                unsafe { #private::#name(__hot_slot, __hot_call) } #wait
            }
        };
        match (self.after_rollback(pointer), again) {
            (AfterRollback::Retried, Some(again)) => helper("call_retrying", again),
            (AfterRollback::Returned, _) => helper("call_returning", call),
            _ => quote! {
                let __hot_fn = unsafe { __hot_slot.load::<__HotFn>() };
                #call #wait
            },
        }
    }

    /// The registry entry, whose slot starts at the statically linked
    /// thunk (no build, no dylib until the first edit).
    fn registration(&self, private: &TokenStream, names: &Names, pointer: &Pointer) -> TokenStream {
        let (inputs, output) = self.display_types(false);
        let signature = compact(&display_pointer(self.sig, &inputs, &output));
        let (inputs, output) = self.display_types(true);
        let source_hash = crate::fnv::hash(
            format!(
                "{}{}",
                self.sig.to_token_stream(),
                self.block.to_token_stream()
            )
            .as_bytes(),
        );
        // `!` cannot be named as a type argument (and has no layout).
        let probes = inputs
            .iter()
            .chain(output.iter().filter(|ty| !matches!(ty, Type::Never(_))))
            .map(|ty| probe_statement(private, ty));
        let traits = probe_traits(private);
        let pointer_ty = pointer.ty();
        let (entry, thunk, path) = (&names.entry, &names.thunk, &names.path);
        let section = section_attrs("hotreload_entries", "__hr_entries");
        let after_rollback = format_ident!("{}", format!("{:?}", self.after_rollback(pointer)));
        quote! {
            #[doc(hidden)]
            #section
            static #entry: #private::Entry = #private::Entry::new(
                #thunk as #pointer_ty as *mut (),
                #path,
                #signature,
                {
                    fn layout(types: &mut #private::TypeLayouts) {
                        // Its `TypeId` is the crate's identity.
                        struct Identity;
                        types.identity::<Identity>();
                        #traits
                        #(#probes)*
                    }
                    layout
                },
                #source_hash,
                ::core::env!("CARGO_PKG_NAME"),
                ::core::env!("CARGO_MANIFEST_DIR"),
            )
            .after_rollback(#private::PanickedCall::#after_rollback);
        }
    }

    /// The argument and return types as written, `Self` spelled out: what
    /// the registry shows (signature, layouts) and compares. `compiled`:
    /// to be compiled outside the impl (layout probes), rather than read.
    fn display_types(&self, compiled: bool) -> (Vec<Type>, Option<Type>) {
        let self_ty = self.impl_block.map(ImplBlock::self_ty);
        let mut inputs: Vec<Type> = self
            .sig
            .inputs
            .iter()
            .map(|arg| match arg {
                FnArg::Receiver(receiver) => {
                    let self_ty = self_ty.expect("validated: receivers only in impls");
                    match &receiver.kind {
                        ReceiverKind::Reference(and, lifetime, mutability) => {
                            syn::parse_quote!(#and #lifetime #mutability #self_ty)
                        }
                        ReceiverKind::Typed(_, ty) => (**ty).clone(),
                        _ => self_ty.clone(),
                    }
                }
                FnArg::Typed(pat_type) => (*pat_type.ty).clone(),
            })
            .collect();
        let mut output = match &self.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        if let Some(impl_block) = self.impl_block {
            let mut replace = ReplaceSelf {
                self_ty: impl_block.self_ty(),
                trait_: impl_block
                    .trait_path()
                    .map(|path| (path, impl_block.names.as_slice())),
                helper: impl_block.helper_path.as_ref().filter(|_| compiled),
            };
            inputs.iter_mut().for_each(|ty| replace.visit_type_mut(ty));
            if let Some(ty) = &mut output {
                replace.visit_type_mut(ty);
            }
        }
        (inputs, output)
    }

    /// Everything beside the trampoline: `items` (body, thunk, entry and
    /// the dependencies library's name), each with the function's `cfg`s.
    fn beside(&self, items: [TokenStream; 4]) -> TokenStream {
        let attrs = Attrs(self.attrs);
        let block_attrs = Attrs(self.impl_block.map_or(&[][..], |block| &block.item.attrs));
        let cfgs: Vec<_> = block_attrs.cfgs().into_iter().chain(attrs.cfgs()).collect();
        let items = items
            .iter()
            .filter(|item| !item.is_empty())
            .map(|item| quote!(#(#cfgs)* #item));
        quote!(#(#items)*)
    }
}

/// The attributes that put a static in the linker section `elf` (`macho`
/// on Apple targets), which the core crate reads back (its `section.rs`,
/// whose names these must be).
/// A trampoline's arguments.
struct Arguments {
    /// As the trampoline declares them (the user's names: see
    /// `param_name`).
    params: Vec<TokenStream>,
    /// As it passes them on.
    call: Vec<TokenStream>,
    /// As it passes them a second time, to retry a call whose new code
    /// panicked; `None` if one cannot be passed again.
    again: Option<Vec<TokenStream>>,
}

/// `PanickedCall` of the core crate, as the macro decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterRollback {
    Retried,
    Returned,
    Panicked,
}

/// The trampoline's name for an argument: the user's own where the
/// pattern is a plain name, since attribute macros below `#[hot]` apply to
/// the trampoline and may read it (`#[instrument]` makes span fields of
/// them); else `__hot_arg<index>` (a pattern, `_`). Never `mut`: the
/// trampoline only passes it on.
fn param_name(pat: &Pat, index: usize) -> Ident {
    match pat {
        Pat::Ident(PatIdent {
            by_ref: None,
            subpat: None,
            ident,
            ..
        }) => ident.clone(),
        _ => format_ident!("__hot_arg{}", index),
    }
}

fn section_attrs(elf: &str, macho: &str) -> TokenStream {
    let macho = format!("__DATA,{macho},regular,no_dead_strip");
    quote! {
        #[used]
        #[cfg_attr(not(target_vendor = "apple"), unsafe(link_section = #elf))]
        #[cfg_attr(target_vendor = "apple", unsafe(link_section = #macho))]
    }
}

/// Names the shared library of dependencies in a hot build that links
/// against one (`--cfg hotreload_deps`; see the runtime's `dylib.rs`):
/// rustc links a dylib only if the crate names it. Nothing in any other
/// build.
fn link_dependencies() -> TokenStream {
    // The lint level goes on the `const`: on the `extern crate` it would
    // not reach that item's own `cfg`.
    quote! {
        #[allow(unexpected_cfgs)]
        const _: () = {
            #[cfg(hotreload_deps)]
            extern crate hotreload_deps as _;
        };
    }
}

/// `tokens` in braces that have the span of `block`'s: an item's span then
/// lies in the user's code (rustc drops lints, `dead_code` among them, on
/// items whose span is inside an external macro's expansion).
fn braced(block: &syn::Block, tokens: TokenStream) -> TokenStream {
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, tokens);
    group.set_span(block.brace_token.span.join());
    group.into_token_stream()
}

/// The body of a hot function, and how to call it.
struct Body {
    item: TokenStream,
    /// Instead of `item`: the body in its impl block's helper trait.
    helper: Option<HelperBody>,
    /// The callee, from the thunk.
    call: TokenStream,
    /// The callee, from the trampoline (for `#[track_caller]`).
    direct: TokenStream,
}

/// The receiver's lifetime, if the receiver is a reference: its own, or
/// `'__hot_r` for an elided one (the free body names it so that elided
/// output lifetimes can take it).
fn receiver_lifetime(sig: &Signature) -> Option<syn::Lifetime> {
    match &sig.receiver()?.kind {
        ReceiverKind::Reference(_, lifetime, _) => Some(
            lifetime
                .clone()
                .unwrap_or_else(|| syn::Lifetime::new("'__hot_r", Span::call_site())),
        ),
        _ => None,
    }
}

/// The names one hot function's items get, all beside it in its own
/// module: the body there keeps `module_path!()` (a `log` or `tracing`
/// target) what the user wrote; everything else is named for the
/// function.
struct Names {
    body: syn::Ident,
    thunk: syn::Ident,
    entry: syn::Ident,
    /// The registry path: `module_path!()` and the function's name.
    path: TokenStream,
    /// What follows `module_path!()` in it.
    suffix: String,
}

impl Names {
    fn new(hot: &HotFn<'_>) -> Names {
        let name = &hot.sig.ident;
        let (key, suffix) = match hot.impl_block {
            None => (name.to_string(), format!("::{name}")),
            Some(block) => (String::new(), format!("::{}::{name}", block.display)),
        };
        // A method's: the words of its type (and trait), a hash of them
        // (`impl Index for Span` and `impl Index for &Span` have the same
        // words), its name. Joined by single underscores, so the names stay
        // snake (and upper) case and no lint fires on them.
        let key = match hot.impl_block {
            None => key,
            Some(block) => format!("{}_{}", block.key, name),
        };
        let lower = key.to_lowercase();
        let body = match hot.impl_block {
            // An associated function of its type: the method's own name.
            Some(block) if block.trait_path().is_none() => format_ident!(
                "__hotreload_impl_{}",
                name.to_string().to_lowercase(),
                span = name.span()
            ),
            _ => format_ident!("__hotreload_impl_{}", lower, span = name.span()),
        };
        Names {
            body,
            thunk: format_ident!("__hotreload_thunk_{}", lower),
            entry: format_ident!("__HOTRELOAD_ENTRY_{}", key.to_uppercase()),
            path: quote!(::core::concat!(::core::module_path!(), #suffix)),
            suffix,
        }
    }
}

/// The user's attributes, sorted by the items they go on.
struct Attrs<'a>(&'a [Attribute]);

/// Lints that fire on the function the program calls (the trampoline), not
/// on its body: an `#[expect]` of them goes there.
const TRAMPOLINE_LINTS: &[&str] = &[
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
    fn is_lint(attr: &Attribute) -> bool {
        ["allow", "expect", "warn", "deny", "forbid"]
            .iter()
            .any(|name| attr.path().is_ident(name))
    }

    fn is_inner(attr: &Attribute) -> bool {
        matches!(attr.style, syn::AttrStyle::Inner(_))
    }

    /// `#![...]` at the top of the body (syn keeps them with the
    /// function's attributes): they go back into the body's block.
    fn inner(&self) -> Vec<&'a Attribute> {
        self.0.iter().filter(|attr| Self::is_inner(attr)).collect()
    }

    fn is_cfg(attr: &Attribute) -> bool {
        attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr")
    }

    /// An attribute macro (`#[instrument]`, `#[requires(..)]`): neither
    /// one of the language's attributes nor a tool's (`#[rustfmt::skip]`).
    fn has_macro(&self) -> bool {
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
    fn cfgs(&self) -> Vec<&'a Attribute> {
        self.0
            .iter()
            .filter(|attr| !Self::is_inner(attr) && Self::is_cfg(attr))
            .collect()
    }

    /// Every attribute, an `#[expect]` of lints that fire in the body made
    /// an `#[allow]` (it would be unfulfilled here).
    fn for_trampoline(&self) -> Vec<TokenStream> {
        self.0
            .iter()
            .filter(|attr| !Self::is_inner(attr))
            .map(|attr| expect_for(attr, true).unwrap_or_else(|| attr.to_token_stream()))
            .collect()
    }

    /// Lint levels and `cfg`s; an `#[expect]` of lints that fire on the
    /// trampoline made an `#[allow]`.
    fn for_body(&self) -> Vec<TokenStream> {
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
fn expect_for(attr: &Attribute, trampoline: bool) -> Option<TokenStream> {
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

/// The function type as the user wrote it, `Self` spelled out: what the
/// registry shows in a refusal (`fn(&Player) -> i32`).
fn display_pointer(sig: &Signature, inputs: &[Type], output: &Option<Type>) -> TokenStream {
    let lifetimes: Vec<_> = sig.generics.lifetimes().map(|l| &l.lifetime).collect();
    let binder = (!lifetimes.is_empty()).then(|| quote!(for<#(#lifetimes),*>));
    let unsafety = &sig.safety;
    let asyncness = &sig.asyncness;
    let output = output.as_ref().map(|ty| quote!(-> #ty));
    quote!(#binder #asyncness #unsafety fn(#(#inputs),*) #output)
}

/// A statement that adds the layout of `ty`, labelled with the type as
/// written. References are looked through: what matters is the layout of
/// the data they point at.
fn probe_statement(private: &TokenStream, ty: &Type) -> TokenStream {
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
    let probe = probe(private, &ty);
    quote! {
        types.add(#label, |hasher| {
            hasher.tag(#tags);
            #probe
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
/// result cannot come out of the retry closure, and such a trait path
/// takes no helper trait.
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

/// `node` without its lifetimes, for names: `Options<'a>` is `Options`,
/// `&'a App` is `&App`.
fn without_lifetimes(node: &impl ToTokens) -> TokenStream {
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
struct StaticLifetimes;

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
fn compact_text(printed: &str) -> String {
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
#[cfg(test)]
mod tests {
    use super::*;

    /// The output without and with the runtime's `reload` feature,
    /// pretty-printed.
    fn expand_both(args: TokenStream, input: TokenStream) -> (String, String) {
        let off = hot(args.clone(), input.clone(), false);
        let on = hot(args, input.clone(), true);
        // Without `reload`, the item is exactly what the user wrote.
        assert_eq!(off.to_string(), input.to_string());
        let pretty = |tokens: TokenStream| {
            prettyplease::unparse(&syn::parse2(tokens).expect("expansion parses as a file"))
        };
        (pretty(off), pretty(on))
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
    fn thin_in_a_quick_build() {
        crate::thin::ALL_THIN.with(|thin| thin.set(true));
        let (_, free) = expand_both(
            quote!(),
            quote! {
                pub fn step(world: &mut World, dt: f32) -> usize {
                    world.advance(dt)
                }
            },
        );
        let (_, methods) = expand_both(
            quote!(),
            quote! {
                impl std::fmt::Display for Player {
                    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "player")
                    }
                }
            },
        );
        // `Self::Err` in the signature: the helper trait names it, as in the
        // program's full expansion.
        let (_, projected) = expand_both(
            quote!(),
            quote! {
                impl std::str::FromStr for Version {
                    type Err = Error;
                    fn from_str(text: &str) -> Result<Self, Self::Err> {
                        parse(text)
                    }
                }
            },
        );
        crate::thin::ALL_THIN.with(|thin| thin.set(false));
        insta::assert_snapshot!("thin_free_function", free);
        insta::assert_snapshot!("thin_trait_impl", methods);
        insta::assert_snapshot!("thin_trait_impl_with_projection", projected);
    }

    #[test]
    fn a_call_is_retried_only_where_it_may_be_made_twice() {
        let (_, safe) = expand_both(
            quote!(),
            quote!(
                pub fn bump(n: &mut u32) {
                    *n += 1;
                }
            ),
        );
        let (_, not) = expand_both(
            quote!(),
            quote!(
                pub unsafe fn bump(n: &mut u32) {
                    *n += 1;
                }
            ),
        );
        assert!(safe.contains("call_retrying"), "{safe}");
        // Its caller vouched for one call.
        assert!(!not.contains("call_retrying"), "{not}");
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
    fn trait_impl_with_an_associated_type() {
        let (_, on) = expand_both(
            quote!(),
            quote! {
                impl<'a> Iterator for Words<'a> {
                    type Item = &'a str;
                    fn next(&mut self) -> Option<Self::Item> { self.rest.split_first() }
                }
            },
        );
        insta::assert_snapshot!("trait_impl_reload_on", on);
    }

    #[test]
    fn async_fn() {
        let (_, on) = expand_both(
            quote!(),
            quote! {
                pub async fn fetch(id: u32, name: &str) -> String { format!("{name}{id}") }
            },
        );
        insta::assert_snapshot!("async_fn_reload_on", on);
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
    fn compact_signatures() {
        assert_eq!(
            compact(&quote!(fn(&mut World, f32) -> Option<Vec<u8>>)),
            "fn(&mut World, f32) -> Option<Vec<u8>>"
        );
        assert_eq!(
            compact(&quote!(for<'a> unsafe fn(&'a str) -> &'a str)),
            "for<'a> unsafe fn(&'a str) -> &'a str"
        );
        // As the compiler prints a long one.
        assert_eq!(
            compact_text("fn(Query < & Velocity\n>, Res < Counter >)"),
            "fn(Query<&Velocity>, Res<Counter>)"
        );
    }
}
