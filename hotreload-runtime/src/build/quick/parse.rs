//! A file of the package as the quick-build planner knows it: parsed
//! into its *deep skeleton* (its tokens with hot bodies and plain items
//! left out), its plain items, its hot functions (where each body is, what
//! it names) and its items (for pruning).

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

use quote::ToTokens;
use syn::visit_mut::VisitMut;

use super::prune;

/// A hot function of a file, where it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct HotFn {
    /// Module path in the file, impl, name.
    pub(super) key: String,
    /// The line of its name.
    pub(super) line: usize,
    /// Its body, braces included, in the file's text.
    pub(super) body: Range<usize>,
    /// Its body changed since the build that went live.
    pub(super) dirty: bool,
    /// Its body declares items: never thin.
    pub(super) has_items: bool,
    /// The identifiers in its body (what it keeps in a pruned build).
    pub(super) refs: Vec<String>,
    /// Another hot function of the file has its key (one name under two
    /// `cfg`s): built in full.
    pub(super) shared: bool,
}

/// An item that is not hot whose text an edit can change in a quick build
/// (see `Quick::reached`): a free function or an inherent method, not
/// `const` (its value can be part of a type), a named `const` (module level
/// or in an inherent impl), or a `use` without a glob; with no attribute
/// but documentation, lint levels, inlining hints and `#[test]`, and no
/// item in its body. It is left out of the deep skeleton whole, signature
/// too: the hot functions that name it are built against the new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PlainItem {
    /// Module path in the file, impl, name (a `use`: its tree).
    pub(super) key: String,
    /// The names it declares (a `use`: the names it brings in scope).
    pub(super) names: Vec<String>,
    /// Its tokens (as lexed from its text, which an edit inside `body`
    /// lexes again: see `diff::edit_one_plain`).
    pub(super) text: String,
    /// Where it names identifiers (what an edit of another plain item
    /// reaches through it).
    pub(super) named: Named,
    /// The whole item in the file's text, attributes first.
    pub(super) range: Range<usize>,
    /// What an edit can change and leave it the same item: a function's
    /// body, braces included; a constant's `= value;` (a `use`: none).
    pub(super) body: Option<Range<usize>>,
    /// An inherent impl's item (an `ImplItem`), not a module's.
    pub(super) in_impl: bool,
    /// An inherent impl's item: the outermost name of its type (`Player`
    /// for `impl Player<'_>`), which a call by path names.
    pub(super) owner: Option<String>,
}

/// Where a file's deep skeleton names identifiers (see [`File::named`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Named {
    /// Named alone, or after a `.` (a method call: of any type).
    pub(super) bare: HashSet<String>,
    /// Named as `Qualifier::name`: name -> its qualifiers. A method of a
    /// type is used here only if one is the type, `Self` or an alias.
    pub(super) qualified: HashMap<String, HashSet<String>>,
    /// The names that can stand for another type anywhere in the file:
    /// `type` aliases (associated types too) and `use ... as` renames.
    pub(super) aliases: HashSet<String>,
}

impl Named {
    /// Whether `name` is used here, as a method of one of `owners` (the
    /// outermost names of their types), or as anything when `owners` is
    /// `None` (a free function, a constant, a `use`). `aliases`: every
    /// file's.
    pub(super) fn uses(
        &self,
        name: &str,
        owners: Option<&HashSet<String>>,
        aliases: &HashSet<String>,
    ) -> bool {
        self.bare.contains(name)
            || self
                .qualified
                .get(name)
                .is_some_and(|qualifiers| match owners {
                    None => true,
                    Some(owners) => qualifiers.iter().any(|qualifier| {
                        qualifier == "Self"
                            || owners.contains(qualifier)
                            || aliases.contains(qualifier)
                    }),
                })
    }
}

/// The names a file declares that can stand for another type (see
/// [`Named::aliases`]).
#[derive(Default)]
struct Aliases(HashSet<String>);

impl<'a> syn::visit::Visit<'a> for Aliases {
    fn visit_item_type(&mut self, item: &'a syn::ItemType) {
        self.0.insert(item.ident.to_string());
    }
    fn visit_impl_item_type(&mut self, item: &'a syn::ImplItemType) {
        self.0.insert(item.ident.to_string());
    }
    fn visit_trait_item_type(&mut self, item: &'a syn::TraitItemType) {
        self.0.insert(item.ident.to_string());
    }
    fn visit_use_rename(&mut self, rename: &'a syn::UseRename) {
        self.0.insert(rename.rename.to_string());
    }
}

/// A file as the thin decision knows it.
pub(super) struct File {
    pub(super) text: String,
    /// Its tokens with the hot functions' bodies and the plain items left
    /// out: what must be the live build's for a quick build.
    pub(super) deep: String,
    pub(super) plain: Vec<PlainItem>,
    /// The identifiers `deep` has other than in a function's declaration
    /// (`fn name`) or a `use` that does not rename them: a plain function
    /// named there is used where hot functions' text would not show it.
    pub(super) named: Named,
    pub(super) hot: Vec<HotFn>,
    /// Its items, for pruning.
    pub(super) items: Vec<prune::Item>,
    /// Deleted (or unreadable) since.
    pub(super) gone: bool,
    /// Its newest text does not parse (a save half-way, or a fragment for
    /// `include!`): full builds until it does; `text` and `hot` are the
    /// last parsed ones.
    pub(super) broken: bool,
}

/// The name of the module a file is (`src/m3.rs` and `src/m3/mod.rs`:
/// `m3`; the crate root: none).
pub(super) fn module_of(path: &Path) -> String {
    let stem = path.file_stem().unwrap_or_default();
    let name = match stem.to_str() {
        Some("mod") => path.parent().and_then(Path::file_name).unwrap_or_default(),
        Some("lib" | "main") => Default::default(),
        _ => stem,
    };
    name.to_string_lossy().into_owned()
}

pub(super) fn parse(text: &str, path: &Path) -> Option<File> {
    let parsed = syn::parse_file(text).ok().map(|mut file| {
        let mut hollow = Hollow {
            module: Vec::new(),
            hot: Vec::new(),
        };
        hollow.visit_file_mut(&mut file);
        let mut keys: HashMap<&str, usize> = HashMap::new();
        for hot in &hollow.hot {
            *keys.entry(&hot.key).or_default() += 1;
        }
        let shared: Vec<bool> = hollow
            .hot
            .iter()
            .map(|hot| keys[hot.key.as_str()] > 1)
            .collect();
        for (hot, shared) in hollow.hot.iter_mut().zip(shared) {
            hot.shared = shared;
        }
        let mut items = Vec::new();
        prune::outline(&file.items, &module_of(path), &mut items);
        // Before the plain items go: a `use ... as` is one.
        let mut aliases = Aliases::default();
        syn::visit::Visit::visit_file(&mut aliases, &file);
        let mut deepen = Deepen {
            text,
            module: Vec::new(),
            plain: Vec::new(),
        };
        deepen.visit_file_mut(&mut file);
        let deep = file.to_token_stream();
        let mut named = Named {
            aliases: aliases.0,
            ..Named::default()
        };
        named_outside_calls(deep.clone(), false, &mut named);
        File {
            text: text.to_string(),
            deep: deep.to_string(),
            plain: deepen.plain,
            named,
            hot: hollow.hot,
            items,
            gone: false,
            broken: false,
        }
    });
    // Spans were read: free the text proc-macro2 keeps for them.
    proc_macro2::extra::invalidate_current_thread_spans();
    parsed
}

/// Empties the bodies of hot functions, noting them.
pub(super) struct Hollow {
    pub(super) module: Vec<String>,
    pub(super) hot: Vec<HotFn>,
}

pub(super) fn is_hot(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "hot")
    })
}

/// Whether `block` declares items (an `impl` among them applies to the
/// whole crate, whichever body it is in).
fn declares_items(block: &syn::Block) -> bool {
    block
        .stmts
        .iter()
        .any(|stmt| matches!(stmt, syn::Stmt::Item(_)))
}

/// What `#[hot]` makes hot in an impl block: the macro's own rules (a
/// method it leaves as written must keep its body in the skeleton).
use hotreload_syntax::valid;

impl Hollow {
    fn take(&mut self, owner: &str, sig: &syn::Signature, block: &mut syn::Block) {
        // An item declared in the body (an `impl` applies to the whole
        // crate) would vanish with it: such a function is never thin.
        let has_items = declares_items(block);
        let mut refs = Vec::new();
        crate::build::quick::prune::identifiers(block.to_token_stream(), &mut refs);
        self.hot.push(HotFn {
            key: format!("{}::{owner}{}", self.module.join("::"), sig.ident),
            line: sig.ident.span().start().line,
            body: block.brace_token.span.join().byte_range(),
            dirty: has_items,
            has_items,
            refs,
            shared: false,
        });
        block.stmts.clear();
    }
}

impl VisitMut for Hollow {
    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        self.module.push(module.ident.to_string());
        syn::visit_mut::visit_item_mod_mut(self, module);
        self.module.pop();
    }

    fn visit_item_fn_mut(&mut self, item: &mut syn::ItemFn) {
        // Bodies of other functions are kept whole (a hot function inside
        // one is then not thin).
        if is_hot(&item.attrs) {
            self.take("", &item.sig, &mut item.block);
        }
    }

    fn visit_item_impl_mut(&mut self, item: &mut syn::ItemImpl) {
        if !is_hot(&item.attrs) {
            return;
        }
        let owner = match &item.trait_ {
            Some((path, _)) => format!(
                "<{} for {}>::",
                path.to_token_stream(),
                item.self_ty.to_token_stream()
            ),
            None => format!("<{}>::", item.self_ty.to_token_stream()),
        };
        for impl_item in &mut item.items {
            if let syn::ImplItem::Fn(method) = impl_item
                && valid::can_be_hot(&method.sig)
            {
                self.take(&owner, &method.sig, &mut method.block);
            }
        }
    }
}

/// Leaves out the plain items ([`PlainItem`]), noting them. Only modules'
/// items and inherent impls are looked into: a function inside a constant's
/// initializer, a trait's or another function's body stays.
struct Deepen<'a> {
    /// The file's text.
    text: &'a str,
    module: Vec<String>,
    plain: Vec<PlainItem>,
}

/// An item's attributes are only documentation, lint levels, inlining
/// hints and `#[test]` (a `cfg`, `no_mangle` or a macro's could change what
/// names cannot show).
fn plain_attrs(attrs: &[syn::Attribute]) -> bool {
    const PLAIN: &[&str] = &[
        "doc", "allow", "warn", "deny", "expect", "inline", "must_use", "cold", "test",
    ];
    attrs
        .iter()
        .all(|attr| PLAIN.iter().any(|name| attr.path().is_ident(name)))
}

/// Whether the item can be left out of the deep skeleton as plain.
fn plain_fn(attrs: &[syn::Attribute], sig: &syn::Signature, block: &syn::Block) -> bool {
    !is_hot(attrs) && sig.constness.is_none() && plain_attrs(attrs) && !declares_items(block)
}

/// Whether the constant can be left out of the deep skeleton as plain: named
/// (`const _` is for its checks), not generic, no items in its value.
fn plain_const(
    attrs: &[syn::Attribute],
    ident: &syn::Ident,
    generics: &syn::Generics,
    expr: &syn::Expr,
) -> bool {
    let items_in_value = matches!(expr, syn::Expr::Block(value) if declares_items(&value.block));
    ident != "_" && generics.params.is_empty() && plain_attrs(attrs) && !items_in_value
}

/// What makes an item plain: the name its key ends with, the names it
/// declares, its body (see [`PlainItem`]).
struct Plain {
    key: String,
    names: Vec<String>,
    body: Option<Range<usize>>,
}

impl Plain {
    fn named(ident: &syn::Ident, body: Range<usize>) -> Plain {
        Plain {
            key: ident.to_string(),
            names: vec![ident.to_string()],
            body: Some(body),
        }
    }
}

impl Deepen<'_> {
    /// Notes `item` (in `owner`) as plain, if its text can be read.
    fn take(
        &mut self,
        (owner, owner_ty): (&str, Option<&syn::Ident>),
        plain: Plain,
        item: &dyn ToTokens,
    ) -> bool {
        let range = syn::spanned::Spanned::span(&item.to_token_stream()).byte_range();
        let Some((text, named)) = self.text.get(range.clone()).and_then(lexed) else {
            return false;
        };
        self.plain.push(PlainItem {
            key: format!("{}::{owner}{}", self.module.join("::"), plain.key),
            names: plain.names,
            text,
            named,
            range,
            body: plain.body,
            in_impl: !owner.is_empty(),
            owner: owner_ty.map(ToString::to_string),
        });
        true
    }
}

/// An item's text as compared (its tokens) and where it names identifiers.
fn lexed(source: &str) -> Option<(String, Named)> {
    let tokens: proc_macro2::TokenStream = source.parse().ok()?;
    let mut named = Named::default();
    named_outside_calls(tokens.clone(), false, &mut named);
    Some((tokens.to_string(), named))
}

/// The plain item `source` (edited inside its body) as [`lexed`], if it is
/// still one plain item declaring `names`: not a body closed early and
/// followed by another item, nor one that now declares items.
pub(super) fn plain_again(
    source: &str,
    in_impl: bool,
    names: &[String],
) -> Option<(String, Named)> {
    let plain = if in_impl {
        // Its signature did not change: it was not hot before either.
        plain_impl_item(&syn::parse_str(source).ok()?, false)
    } else {
        plain_item(&syn::parse_str(source).ok()?)
    };
    plain.filter(|plain| plain.names == names)?;
    lexed(source)
}

/// A module's item that is plain.
fn plain_item(item: &syn::Item) -> Option<Plain> {
    match item {
        syn::Item::Fn(f) => plain_fn(&f.attrs, &f.sig, &f.block)
            .then(|| Plain::named(&f.sig.ident, body_of_fn(&f.block))),
        syn::Item::Const(c) => plain_const(&c.attrs, &c.ident, &c.generics, &c.expr)
            .then(|| Plain::named(&c.ident, body_of_const(&c.eq_token, &c.semi_token))),
        syn::Item::Use(u) if plain_attrs(&u.attrs) => {
            let mut names = Vec::new();
            use_names(&u.tree, None, &mut names).then(|| Plain {
                key: format!("use {}", u.tree.to_token_stream()),
                names,
                body: None,
            })
        }
        _ => None,
    }
}

/// Adds the names `tree` brings in scope (`parent`: the segment before it,
/// which `self` in braces brings); false for a glob, whose names cannot be
/// told (it can also stop shadowing a name when another import goes).
fn use_names(tree: &syn::UseTree, parent: Option<&syn::Ident>, names: &mut Vec<String>) -> bool {
    match tree {
        syn::UseTree::Path(path) => use_names(&path.tree, Some(&path.ident), names),
        syn::UseTree::Name(name) if name.ident == "self" => match parent {
            Some(parent) => {
                names.push(parent.to_string());
                true
            }
            None => false,
        },
        syn::UseTree::Name(name) => {
            names.push(name.ident.to_string());
            true
        }
        syn::UseTree::Rename(rename) => {
            names.push(rename.rename.to_string());
            true
        }
        syn::UseTree::Glob(_) => false,
        syn::UseTree::Group(group) => group
            .items
            .iter()
            .all(|tree| use_names(tree, parent, names)),
    }
}

/// An inherent impl's item that is plain (`hot_block`: the block is
/// `#[hot]`, whose methods are hot if they can be).
fn plain_impl_item(item: &syn::ImplItem, hot_block: bool) -> Option<Plain> {
    match item {
        syn::ImplItem::Fn(f) => (!(hot_block && valid::can_be_hot(&f.sig))
            && plain_fn(&f.attrs, &f.sig, &f.block))
        .then(|| Plain::named(&f.sig.ident, body_of_fn(&f.block))),
        syn::ImplItem::Const(c) => plain_const(&c.attrs, &c.ident, &c.generics, &c.expr)
            .then(|| Plain::named(&c.ident, body_of_const(&c.eq_token, &c.semi_token))),
        _ => None,
    }
}

/// A function's body, braces included.
fn body_of_fn(block: &syn::Block) -> Range<usize> {
    block.brace_token.span.join().byte_range()
}

/// A constant's `= value;`.
fn body_of_const(eq: &syn::token::Eq, semi: &syn::token::Semi) -> Range<usize> {
    eq.span.byte_range().start..semi.span.byte_range().end
}

impl VisitMut for Deepen<'_> {
    fn visit_item_mut(&mut self, item: &mut syn::Item) {
        match item {
            syn::Item::Mod(module) => {
                self.module.push(module.ident.to_string());
                syn::visit_mut::visit_item_mod_mut(self, module);
                self.module.pop();
            }
            syn::Item::Impl(block) if block.trait_.is_none() => {
                let owner = format!("<{}>::", block.self_ty.to_token_stream());
                let owner_ty = prune::outermost(&block.self_ty).cloned();
                let hot_block = is_hot(&block.attrs);
                for impl_item in &mut block.items {
                    if let Some(plain) = plain_impl_item(impl_item, hot_block)
                        && self.take((&owner, owner_ty.as_ref()), plain, impl_item)
                    {
                        *impl_item = syn::ImplItem::Verbatim(Default::default());
                    }
                }
            }
            _ => {
                if let Some(plain) = plain_item(item)
                    && self.take(("", None), plain, item)
                {
                    *item = syn::Item::Verbatim(Default::default());
                }
            }
        }
    }
}

/// Adds to `named` the identifiers of `tokens` other than a function's
/// name in its declaration and a name a `use` imports as it is (`in_use`:
/// inside a `use`, its braces too).
fn named_outside_calls(tokens: proc_macro2::TokenStream, in_use: bool, named: &mut Named) {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let at =
        |index: usize, back: usize| index.checked_sub(back).and_then(|index| tokens.get(index));
    let word_at = |index: Option<usize>, word: &str| {
        index
            .and_then(|index| tokens.get(index))
            .is_some_and(|token| matches!(token, TokenTree::Ident(ident) if ident == word))
    };
    let colon = |token: Option<&TokenTree>| matches!(token, Some(TokenTree::Punct(punct)) if punct.as_char() == ':');
    let mut in_use = in_use;
    for (index, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Group(group) => named_outside_calls(group.stream(), in_use, named),
            TokenTree::Punct(punct) if punct.as_char() == ';' => in_use = false,
            TokenTree::Ident(ident) if ident == "use" => in_use = true,
            TokenTree::Ident(ident) => {
                let declared = word_at(index.checked_sub(1), "fn");
                let imported = in_use && !word_at(Some(index + 1), "as");
                if declared || imported {
                    continue;
                }
                // `Qualifier::name` (not `<T as Trait>::name`, `::name`).
                match (at(index, 1), at(index, 2), at(index, 3)) {
                    (second, first, Some(TokenTree::Ident(qualifier)))
                        if colon(second) && colon(first) =>
                    {
                        named
                            .qualified
                            .entry(ident.to_string())
                            .or_default()
                            .insert(qualifier.to_string());
                    }
                    _ => {
                        named.bare.insert(ident.to_string());
                    }
                }
            }
            _ => {}
        }
    }
}
