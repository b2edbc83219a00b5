//! What each item of a file is, declares and names (the outline the
//! reachability walk reads).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::spanned::Spanned;

use super::tokens::{identifiers, literal_words};
use super::{Item, Keep, Kind};

/// The items of a parsed file (after hot bodies were emptied, so their
/// tokens are not in the items' names), `module` the file's module's name.
/// A module with an attribute that is not inert (an attribute macro reads
/// the whole module) is one item; a `#[cfg(test)]` one is not compiled in
/// a hot build, and is left as it is.
pub fn outline(items: &[syn::Item], module: &str, out: &mut Vec<Item>) {
    for item in items {
        match item {
            syn::Item::Mod(module) if module.attrs.iter().any(is_cfg_test) => {}
            syn::Item::Mod(syn::ItemMod {
                attrs,
                ident,
                content: Some((_, inner)),
                ..
            }) if attrs.iter().all(inert) => outline(inner, &unraw(ident), out),
            syn::Item::Impl(block) if block.trait_.is_none() && block.attrs.iter().all(inert) => {
                methods(block, module, out);
            }
            item => out.push(describe(item, module)),
        }
    }
}

/// An inherent `impl`: the block (its header and every item but its
/// methods) and each method, kept when the block is and its name is
/// named (a method not named cannot be called).
pub(super) fn methods(block: &syn::ItemImpl, module: &str, out: &mut Vec<Item>) {
    let mut shell = block.clone();
    shell
        .items
        .retain(|item| !matches!(item, syn::ImplItem::Fn(_)));
    let mut item = describe(&syn::Item::Impl(shell), module);
    item.range = block.span().byte_range();
    let index = out.len();
    out.push(item);
    for method in &block.items {
        let syn::ImplItem::Fn(method) = method else {
            continue;
        };
        let mut find = Declares(false);
        syn::visit::visit_block(&mut find, &method.block);
        let (refs, words) = names_in(method.to_token_stream());
        out.push(Item {
            range: method.span().byte_range(),
            defines: Some(unraw(&method.sig.ident)),
            kind: Kind::Other,
            module: module.to_string(),
            keep: Keep::Member {
                block: index,
                always: find.0 || !method.attrs.iter().all(inert),
            },
            refs,
            words,
        });
    }
}

pub(super) fn is_cfg_test(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("cfg")
        && matches!(&attr.meta, syn::Meta::List(list) if list.tokens.to_string() == "test")
}

pub(super) fn unraw(ident: &syn::Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map(str::to_string).unwrap_or(name)
}

pub(super) fn describe(item: &syn::Item, module: &str) -> Item {
    use syn::Item as I;
    let nominal = |attrs: &[syn::Attribute]| Kind::Nominal {
        derived: attrs.iter().any(|attr| attr.path().is_ident("derive")),
    };
    let (attrs, name, kind, keep): (&[syn::Attribute], Option<&syn::Ident>, Kind, Keep) = match item
    {
        I::Fn(item) => (&item.attrs, Some(&item.sig.ident), Kind::Other, Keep::Named),
        I::Struct(item) => (
            &item.attrs,
            Some(&item.ident),
            nominal(&item.attrs),
            Keep::Named,
        ),
        I::Enum(item) => (
            &item.attrs,
            Some(&item.ident),
            nominal(&item.attrs),
            Keep::Named,
        ),
        I::Union(item) => (
            &item.attrs,
            Some(&item.ident),
            nominal(&item.attrs),
            Keep::Named,
        ),
        I::Type(item) => (&item.attrs, Some(&item.ident), Kind::Alias, Keep::Named),
        I::Trait(item) => (&item.attrs, Some(&item.ident), Kind::Other, Keep::Named),
        I::TraitAlias(item) => (&item.attrs, Some(&item.ident), Kind::Other, Keep::Named),
        I::Static(item) => (&item.attrs, Some(&item.ident), Kind::Other, Keep::Named),
        I::Const(item) if item.ident != "_" => {
            (&item.attrs, Some(&item.ident), Kind::Other, Keep::Named)
        }
        I::Impl(item) => {
            let keep = match outermost(&item.self_ty) {
                Some(name)
                    if !item
                        .generics
                        .type_params()
                        .any(|param| &param.ident == name) =>
                {
                    Keep::Impl(unraw(name))
                }
                _ => Keep::Always,
            };
            (&item.attrs, None, Kind::Other, keep)
        }
        _ => (&[], None, Kind::Other, Keep::Always),
    };
    // On a type, what follows its `#[derive]` are the derives' helpers
    // (`#[serde(..)]`, `#[require(..)]`): inert too.
    let derive = attrs.iter().position(|attr| attr.path().is_ident("derive"));
    let inert = attrs.iter().enumerate().all(|(index, attr)| {
        inert(attr) || (matches!(kind, Kind::Nominal { .. }) && derive.is_some_and(|d| index > d))
    });
    let keep = if inert && !declares_for_the_crate(item) {
        keep
    } else {
        Keep::Always
    };
    let (refs, words) = names_in(item.to_token_stream());
    Item {
        range: item.span().byte_range(),
        defines: name.map(unraw),
        kind,
        module: module.to_string(),
        keep,
        refs,
        words,
    }
}

/// What `tokens` name: every identifier and string word (see
/// [`identifiers`]), and the string words in attributes.
pub fn names_in(tokens: TokenStream) -> (Vec<String>, Vec<String>) {
    let (mut refs, mut words) = (Vec::new(), Vec::new());
    identifiers(tokens.clone(), &mut refs);
    literal_words(tokens, &mut words);
    (refs, words)
}

/// The name of the type an impl is for: its self type's outermost name,
/// through references, pointers, slices and arrays (`&[Body]` -> `Body`).
pub fn outermost(ty: &syn::Type) -> Option<&syn::Ident> {
    match ty {
        syn::Type::Reference(r) => outermost(&r.elem),
        syn::Type::Ptr(p) => outermost(&p.elem),
        syn::Type::Slice(s) => outermost(&s.elem),
        syn::Type::Array(a) => outermost(&a.elem),
        syn::Type::Paren(p) => outermost(&p.elem),
        syn::Type::Group(g) => outermost(&g.elem),
        syn::Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().map(|segment| &segment.ident)
        }
        _ => None,
    }
}

/// Finds an `impl` or a macro declared in a body: those apply to the whole
/// crate, whoever names the function.
pub(super) struct Declares(bool);

impl<'a> syn::visit::Visit<'a> for Declares {
    fn visit_item_impl(&mut self, _: &'a syn::ItemImpl) {
        self.0 = true;
    }
    fn visit_item_macro(&mut self, _: &'a syn::ItemMacro) {
        self.0 = true;
    }
}

/// A function (or constant, or static) whose body declares an `impl` or a
/// macro (see [`Declares`]).
pub(super) fn declares_for_the_crate(item: &syn::Item) -> bool {
    let mut find = Declares(false);
    match item {
        syn::Item::Fn(item) => syn::visit::visit_block(&mut find, &item.block),
        syn::Item::Const(item) => syn::visit::visit_expr(&mut find, &item.expr),
        syn::Item::Static(item) => syn::visit::visit_expr(&mut find, &item.expr),
        _ => {}
    }
    find.0
}

/// Attributes that do nothing but to the item they are on.
pub(super) fn inert(attr: &syn::Attribute) -> bool {
    let path = attr.path();
    let first = path.segments.first().map(|s| s.ident.to_string());
    let last = path.segments.last().map(|s| s.ident.to_string());
    matches!(first.as_deref(), Some("rustfmt" | "clippy" | "diagnostic"))
        || matches!(
            last.as_deref(),
            Some(
                "doc"
                    | "allow"
                    | "warn"
                    | "deny"
                    | "forbid"
                    | "expect"
                    | "inline"
                    | "cold"
                    | "must_use"
                    | "deprecated"
                    | "cfg"
                    | "derive"
                    | "track_caller"
                    | "non_exhaustive"
                    | "repr"
                    | "automatically_derived"
                    | "test"
                    | "hot"
            )
        )
}
