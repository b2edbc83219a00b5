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
//! // (`compiled!()`: whether this is a reloaded build, by `cfg`)
//! fn __hotreload_thunk_step<'__hot_l0>(__hot_arg0: &'__hot_l0 mut World, __hot_arg1: f32) -> u32 {
//!     guard(&__HOTRELOAD_ENTRY_STEP, compiled!(),
//!         move || { let (..) = (..); __hotreload_impl_step(__hot_arg0, __hot_arg1) })
//! }
//! // the registry entry (a `macro_rules!` of the core crate): a static in
//! // the linker section the core crate reads, with the layout probes of
//! // the signature's types; its slot starts at the statically linked
//! // thunk: no build, no dylib
//! entry!(__HOTRELOAD_ENTRY_STEP, __hotreload_thunk_step as .. as *mut (), "::step",
//!     "fn(&mut World, f32) -> u32", 2876947767729781561u64, Retried,
//!     [("World", "&mut", World), ("f32", "", f32), ("u32", "", u32)]);
//! // once per crate: names the dependencies library in a hot build
//! link_dependencies!();
//!
//! // the trampoline: the user's signature (argument names too) and
//! // attributes
//! #[inline]
//! pub fn step(world: &mut World, dt: f32) -> u32 {
//!     type __HotFn = for<'__hot_l0> fn(&'__hot_l0 mut World, f32) -> u32;
//!     let __hot_slot = &__HOTRELOAD_ENTRY_STEP.slot;
//!     // one load and one indirect call; retried once if new code panicked
//!     // and was rolled back
//!     let __hot_call = |__hot_fn: __HotFn| __hot_fn(&mut *world, dt);
//!     // SAFETY: the slot only ever holds functions of type __HotFn
//!     unsafe { call_retrying(__hot_slot, compiled!(), __hot_call) }
//! }
//! ```
//!
//! Every token here is compiled again on every hot build (a proc macro's
//! output is never reused by incremental compilation), so the expansion is
//! kept small: one static per function, what is the same for every
//! function in `macro_rules!` of the core crate (the compiler expands them
//! itself, far faster than it takes tokens from this macro), the shared
//! work in helpers of the core crate, bodies handed on unparsed. See the
//! README's "Many hot functions" for what each function costs a rebuild.
//!
//! A method of an inherent impl has its body in an `impl Type` block; a
//! method of a trait impl has it in a helper trait implemented for the self
//! type (see `ImplBlock::helper_items`), or as a free function when the
//! trait's path has lifetimes (see `free_body`). The trampoline stays in
//! the user's impl block, and the rest goes beside the block.
//!
//! Here: the entry point and the free function; `impls` (impl blocks and
//! their helper trait) and `statics` (`#[hot] static`); `hot_fn` puts one
//! function's pieces together, each in a file of its own: `body`,
//! `thunk`, `registration`, `trampoline`; `names`, `attrs` (which
//! attribute goes where) and `types` (lifetimes, signatures as text) serve
//! them.

mod attrs;
mod body;
mod hot_fn;
mod impls;
mod names;
mod registration;
mod statics;
mod thunk;
mod trampoline;
pub(crate) mod types;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Attribute, Item, Signature, Visibility};

use crate::attr::Args;
use crate::valid::{self, Errors};

use hot_fn::HotFn;
use impls::impl_block;
use statics::hot_static;

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
    // A free function is not parsed beyond its signature: its body is
    // handed on as it is (rustc reports what is wrong in it). Parsing it
    // with syn and writing it out again token by token was most of what
    // the macro itself cost.
    if let Ok(header) = syn::parse2::<FnHeader>(input.clone()) {
        let thin = crate::thin::active() && crate::thin::is_thin(&header.sig.ident);
        let parts = (&header.attrs[..], &header.vis, &header.sig, &header.body);
        return match free_fn(&args, parts, thin) {
            Ok(on) => on,
            Err(error) => with_error(input, error),
        };
    }
    // An item that does not parse is handed back untouched: rustc then
    // reports the user's own syntax error instead of ours.
    let item = match impl_with_unparsed_bodies(&input) {
        Some(item) => Item::Impl(item),
        None => match syn::parse2::<Item>(input.clone()) {
            Ok(item) => item,
            Err(_) => return input,
        },
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

pub(super) fn with_error(input: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    quote!(#input #error)
}

/// The tokens to point an "unsupported item" error at: the item's keyword
/// and name rather than its whole body.
pub(super) fn item_keyword(item: &Item) -> TokenStream {
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
pub(super) fn free_fn(
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

/// An `impl` block whose methods' bodies are kept unparsed, as a free
/// function's are (see [`FnHeader`]): each brace group after a `fn` is
/// replaced by a marker naming it, the block parsed, and each method's
/// marker replaced by its body as one verbatim statement. `None` if it is
/// not an `impl` block, or a marker landed anywhere but a method's body (a
/// `const` of a function pointer type): then the block is parsed whole.
fn impl_with_unparsed_bodies(input: &TokenStream) -> Option<syn::ItemImpl> {
    use proc_macro2::{Delimiter, Group, TokenTree};
    let mut tokens: Vec<TokenTree> = input.clone().into_iter().collect();
    let is_impl = tokens
        .iter()
        .any(|token| matches!(token, TokenTree::Ident(ident) if ident == "impl"));
    let Some(TokenTree::Group(block)) = tokens.last() else {
        return None;
    };
    if !is_impl || block.delimiter() != Delimiter::Brace {
        return None;
    }
    let mut bodies = Vec::new();
    let mut inside = Vec::new();
    let mut after_fn = false;
    for token in block.stream() {
        match &token {
            TokenTree::Ident(ident) if ident == "fn" => after_fn = true,
            TokenTree::Punct(punct) if matches!(punct.as_char(), ';' | '=') => after_fn = false,
            TokenTree::Group(body) if after_fn && body.delimiter() == Delimiter::Brace => {
                let marker = quote::format_ident!("__hotreload_body_{}", bodies.len());
                let mut hollow = Group::new(Delimiter::Brace, quote!(#marker));
                hollow.set_span(body.span());
                bodies.push(Some(body.clone()));
                inside.push(TokenTree::Group(hollow));
                after_fn = false;
                continue;
            }
            _ => {}
        }
        inside.push(token);
    }
    let mut hollow = Group::new(Delimiter::Brace, inside.into_iter().collect());
    hollow.set_span(block.span());
    *tokens.last_mut()? = TokenTree::Group(hollow);
    let mut item: syn::ItemImpl = syn::parse2(tokens.into_iter().collect()).ok()?;
    for impl_item in &mut item.items {
        let syn::ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let marker = match method.block.stmts.as_slice() {
            [syn::Stmt::Expr(syn::Expr::Path(path), None)] => path.path.get_ident().cloned(),
            _ => None,
        };
        let index = marker.and_then(|marker| {
            marker
                .to_string()
                .strip_prefix("__hotreload_body_")?
                .parse::<usize>()
                .ok()
        });
        if let Some(body) = index.and_then(|index| bodies.get_mut(index)?.take()) {
            method.block = unparsed(body.delim_span(), TokenTree::Group(body));
        }
    }
    bodies.iter().all(Option::is_none).then_some(item)
}

/// A body kept unparsed: one verbatim statement, the body's brace group
/// itself, so that its braces keep their own spans (see `body::original`).
fn unparsed(span: proc_macro2::extra::DelimSpan, body: proc_macro2::TokenTree) -> syn::Block {
    syn::Block {
        brace_token: syn::token::Brace(span),
        stmts: vec![syn::Stmt::Item(Item::Verbatim(body.into()))],
    }
}

/// A free function up to its body, which is kept unparsed (one verbatim
/// statement).
pub(super) struct FnHeader {
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
            Some((_, span, _)) => {
                let (body, rest) = cursor.token_tree().expect("the group just found");
                Ok((unparsed(span, body), rest))
            }
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

#[cfg(test)]
mod tests {
    use super::types::{compact, compact_text};
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
        // A result that borrows nothing, or only from shared references,
        // comes out of the retry; one that may borrow from a `&mut`
        // argument (passed again as a reborrow) cannot, nor a borrowing
        // future's.
        let result = |head: TokenStream, output: TokenStream| {
            expand_both(quote!(), quote!(pub #head -> #output { todo!() })).1
        };
        let shared = quote!(fn name(n: &u32, s: &str));
        let exclusive = quote!(fn name(n: &mut u32, s: &str));
        for output in [quote!(&'static str), quote!(std::borrow::Cow<'static, str>)] {
            let on = result(exclusive.clone(), output.clone());
            assert!(on.contains("call_retrying"), "{output}: {on}");
        }
        for output in [
            quote!(&str),
            quote!(Box<dyn Iterator<Item = &u32> + '_>),
            quote!(Option<&'_ u32>),
        ] {
            let on = result(shared.clone(), output.clone());
            assert!(on.contains("call_retrying"), "{output}: {on}");
            let on = result(exclusive.clone(), output.clone());
            assert!(!on.contains("call_retrying"), "{output}: {on}");
            let on = result(quote!(async fn name(n: &u32)), output.clone());
            assert!(!on.contains("call_retrying"), "async {output}: {on}");
        }
        let on = expand_both(
            quote!(),
            quote!(impl Pool { pub fn first(&mut self) -> &u32 { todo!() } }),
        )
        .1;
        assert!(!on.contains("call_retrying"), "{on}");
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

    #[test]
    fn method_bodies_are_kept_unparsed_unless_a_brace_group_is_not_a_body() {
        let item = impl_with_unparsed_bodies(&quote! {
            impl Player {
                const SPEED: fn() -> u8 = { speed };
                fn damage(&self) -> i32 where Self: Sized { 7 + }
                fn heal(&mut self) { self.hp += 1; }
            }
        })
        .expect("an impl block with two methods");
        let bodies: Vec<String> = item
            .items
            .iter()
            .filter_map(|item| match item {
                syn::ImplItem::Fn(method) => match method.block.stmts.as_slice() {
                    [syn::Stmt::Item(Item::Verbatim(body))] => Some(body.to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        // Not parsed: `7 +` would not.
        assert_eq!(bodies, ["{ 7 + }", "{ self . hp += 1 ; }"]);
        // A brace group in a signature: parsed whole.
        let in_a_type = quote! {
            impl Grid { fn cells(&self) -> Cells<{ N }> { self.cells } }
        };
        assert!(impl_with_unparsed_bodies(&in_a_type).is_none());
        assert!(syn::parse2::<Item>(in_a_type).is_ok());
    }
}
