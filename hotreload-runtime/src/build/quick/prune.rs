//! Pruned quick builds: a quick build (see [`crate::build::quick`]) compiles a copy
//! of the package's sources with every item the changed hot functions
//! cannot reach left out, so that a save costs about what the changed
//! code costs, whatever the size of the library around it.
//!
//! A thin build still made rustc read, expand, resolve and hash every
//! item of the crate: a 5 000-line library with a `bevy_ecs` component per
//! module took 2.7 times the small crate's build for a one-line edit,
//! most of it in code the edit could not touch. A quick build's
//! compiled code is only the changed bodies (the rest of the program
//! keeps running its own), so what it needs is what those bodies name,
//! and what that names in turn.
//!
//! Reachability is by name, without resolving: an item is kept when its
//! name appears as an identifier (or as a word of a string literal, for
//! attributes such as `#[serde(default = "path")]`) anywhere in kept
//! code. A name that occurs twice (two `helper`s in two modules) keeps
//! both, so a kept name always means what it meant in the full crate:
//! items are only ever removed, never moved or renamed, and nothing that
//! kept code could name is removed. What is kept:
//!
//! - the items that hold a changed hot body (the roots), and every item
//!   any kept code names: functions, types, traits, constants, statics; a
//!   name a derive may have declared (`BodyBuilder`, `BodyItem`) keeps the
//!   derived type it starts with; a module named in an attribute's string
//!   (`#[serde(with = "unix")]`) keeps its items;
//! - an `impl` with the type it is for (the outermost name of its self
//!   type: `impl Trait for Body<T>`, `for &Body`), which brings its trait;
//!   an impl for anything else (a type of another crate, a generic
//!   parameter, a type alias) always: removing one could change which
//!   method a call finds. Of an inherent impl, each method only when kept
//!   code names it (nobody can call a method without its name);
//! - always: `use` declarations (a trait imported for its methods is never
//!   named), macros and their calls, `extern` blocks and crates,
//!   out-of-line modules, `const _`, a function whose body declares an
//!   `impl` or a macro, and any item with an attribute beyond the inert
//!   ones and a type's derive helpers (`#[no_mangle]`, `#[used]`, a linker
//!   section, an attribute macro: they may do something nobody names); a
//!   module such an attribute reads is one item;
//! - modules, always (their items are decided one by one); `#[cfg(test)]`
//!   modules and `#[test]` functions are not compiled and keep nothing.
//!
//! An unchanged hot function that is kept is thin (its trampoline): it
//! names only what its signature names. A removed item's text is replaced
//! by blanks, newlines kept, so every kept item is at the line (and
//! column) it has in the real file (`line!()`, panics and backtraces say
//! what the full build would say; paths are mapped back with
//! `--remap-path-prefix`).
//!
//! Code the pruning does not read (an `include!`d file, a `#[path]`
//! module) could name anything: such a crate is not pruned (see `thin`).
//! A name a macro of another crate writes, or pastes together, is not
//! seen: such a build fails to compile. A quick build that fails is built
//! again in full (see the reloader), and once a pruned one failed where
//! the full build of the same sources did not, this program's quick
//! builds are no longer pruned. `HOTRELOAD_PRUNE=0` turns pruning off.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;

/// An item of a file, at any depth of its inline modules (a module itself
/// is not one: its items are).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its text in the file, attributes and doc comments included.
    pub range: Range<usize>,
    /// The name it declares, if any.
    defines: Option<String>,
    kind: Kind,
    /// The module it is in (innermost), by name: `#[serde(with =
    /// "module")]` names a module and means its functions.
    module: String,
    keep: Keep,
    /// The identifiers in it (hot bodies left out: see [`Root`]), and the
    /// words of its string literals.
    refs: Vec<String>,
    /// The words of its string literals.
    words: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A struct, enum or union (`derived`: with a `#[derive]`, which may
    /// declare more types under longer names: `FooBuilder`, `FooItem`).
    Nominal {
        derived: bool,
    },
    /// A type alias: an `impl` for it is an impl for another type.
    Alias,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Keep {
    /// Whatever kept code names.
    Always,
    /// When kept code names it.
    Named,
    /// An `impl` for the named type (the outermost name of its self type:
    /// `impl Trait for Body<T>`, `for &Body`): kept with it. An impl for
    /// anything else (a type of another crate, a generic parameter, an
    /// alias) is kept always.
    Impl(String),
    /// A method of the inherent impl at `block` (an index among the file's
    /// items): kept when the block is and kept code names it (`always`:
    /// whenever the block is).
    Member { block: usize, always: bool },
}

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
fn methods(block: &syn::ItemImpl, module: &str, out: &mut Vec<Item>) {
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

fn is_cfg_test(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("cfg")
        && matches!(&attr.meta, syn::Meta::List(list) if list.tokens.to_string() == "test")
}

fn unraw(ident: &syn::Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map(str::to_string).unwrap_or(name)
}

fn describe(item: &syn::Item, module: &str) -> Item {
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
fn names_in(tokens: TokenStream) -> (Vec<String>, Vec<String>) {
    let (mut refs, mut words) = (Vec::new(), Vec::new());
    identifiers(tokens.clone(), &mut refs);
    literal_words(tokens, &mut words);
    (refs, words)
}

/// The name of the type an impl is for: its self type's outermost name,
/// through references, pointers, slices and arrays (`&[Body]` -> `Body`).
fn outermost(ty: &syn::Type) -> Option<&syn::Ident> {
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
struct Declares(bool);

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
fn declares_for_the_crate(item: &syn::Item) -> bool {
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
fn inert(attr: &syn::Attribute) -> bool {
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

/// The identifiers in `tokens` (not lifetimes, nor doc comments), and
/// the words of its string literals, each once.
pub fn identifiers(tokens: TokenStream, out: &mut Vec<String>) {
    let mut seen: HashSet<String> = out.drain(..).collect();
    walk(tokens, false, &mut |token| match token {
        Token::Ident(name) => {
            seen.insert(name);
        }
        Token::Word(word, _) => {
            seen.insert(word.to_string());
        }
    });
    out.extend(seen);
    out.sort_unstable();
}

/// The words of the string literals in the attributes in `tokens`, each
/// once (a module named there, as in `#[serde(with = "module")]`, is
/// kept whole).
fn literal_words(tokens: TokenStream, out: &mut Vec<String>) {
    let mut seen: HashSet<String> = HashSet::new();
    walk(tokens, false, &mut |token| {
        if let Token::Word(word, true) = token {
            seen.insert(word.to_string());
        }
    });
    out.extend(seen);
    out.sort_unstable();
}

enum Token<'a> {
    Ident(String),
    /// A word of a string literal, and whether it is in an attribute.
    Word(&'a str, bool),
}

fn walk(tokens: TokenStream, in_attribute: bool, found: &mut dyn FnMut(Token)) {
    let mut tokens = tokens.into_iter().peekable();
    let mut lifetime = false;
    while let Some(token) = tokens.next() {
        // Doc comments (`#[doc = "..."]`) name nothing the code uses.
        if let TokenTree::Punct(punct) = &token
            && punct.as_char() == '#'
            && let Some(TokenTree::Group(group)) = tokens.peek()
            && group.delimiter() == proc_macro2::Delimiter::Bracket
            && matches!(group.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc")
        {
            tokens.next();
            continue;
        }
        if let TokenTree::Punct(punct) = &token
            && punct.as_char() == '#'
            && let Some(TokenTree::Group(group)) = tokens.peek()
            && group.delimiter() == proc_macro2::Delimiter::Bracket
        {
            walk(group.stream(), true, found);
            tokens.next();
            continue;
        }
        let after_quote = std::mem::replace(
            &mut lifetime,
            matches!(&token, TokenTree::Punct(p) if p.as_char() == '\''),
        );
        match token {
            TokenTree::Ident(ident) if !after_quote => found(Token::Ident(unraw(&ident))),
            TokenTree::Ident(_) | TokenTree::Punct(_) => {}
            TokenTree::Group(group) => walk(group.stream(), in_attribute, found),
            TokenTree::Literal(literal) => {
                let text = literal.to_string();
                // A string (raw and byte ones too), not a number or a
                // character.
                if text.contains('"') {
                    for word in text
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .filter(|word| word.starts_with(|c: char| c.is_alphabetic() || c == '_'))
                    {
                        found(Token::Word(word, in_attribute));
                    }
                }
            }
        }
    }
}

/// Code that a pruned build compiles whatever it names: a changed hot
/// body, at byte `at` of file `file`, naming `refs`.
pub struct Root<'a> {
    pub file: usize,
    pub at: usize,
    pub refs: &'a [String],
}

/// Which items of `files` to keep for `roots` (see the module docs): one
/// flag per item.
pub fn kept(files: &[&[Item]], roots: &[Root]) -> Vec<Vec<bool>> {
    type At = (usize, usize);
    let mut defs: HashMap<&str, Vec<At>> = HashMap::new();
    let mut derived: HashMap<&str, Vec<At>> = HashMap::new();
    let mut modules: HashMap<&str, Vec<At>> = HashMap::new();
    let mut aliases: HashSet<&str> = HashSet::new();
    let all = || {
        files.iter().enumerate().flat_map(|(f, items)| {
            items
                .iter()
                .enumerate()
                .map(move |(i, item)| ((f, i), item))
        })
    };
    for (at, item) in all() {
        if let Some(name) = &item.defines {
            defs.entry(name).or_default().push(at);
            match item.kind {
                Kind::Nominal { derived: true } => derived.entry(name).or_default().push(at),
                Kind::Alias => {
                    aliases.insert(name);
                }
                _ => {}
            }
        }
        modules.entry(&item.module).or_default().push(at);
    }
    let mut pending: Vec<At> = Vec::new();
    // Impls by the type they are for.
    let mut waiting: HashMap<&str, Vec<At>> = HashMap::new();
    // Methods by their block.
    let mut members: HashMap<At, Vec<At>> = HashMap::new();
    for (at, item) in all() {
        match &item.keep {
            Keep::Always => pending.push(at),
            Keep::Named => {}
            Keep::Member { block, .. } => members.entry((at.0, *block)).or_default().push(at),
            Keep::Impl(name)
                if defs.contains_key(name.as_str()) && !aliases.contains(name.as_str()) =>
            {
                waiting.entry(name).or_default().push(at);
            }
            Keep::Impl(_) => pending.push(at),
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for root in roots {
        // The item it is in, and a method's block.
        for (i, item) in files[root.file].iter().enumerate() {
            if item.range.contains(&root.at) {
                pending.push((root.file, i));
            }
        }
        names.extend(root.refs.iter().map(String::as_str));
    }
    let mut kept: Vec<Vec<bool>> = files.iter().map(|items| vec![false; items.len()]).collect();
    let (mut named, mut modules_named) = (HashSet::new(), HashSet::new());
    let mut module_words: Vec<&str> = Vec::new();
    loop {
        if let Some((f, i)) = pending.pop() {
            if !std::mem::replace(&mut kept[f][i], true) {
                names.extend(files[f][i].refs.iter().map(String::as_str));
                module_words.extend(files[f][i].words.iter().map(String::as_str));
                // A block's methods that are named already, or always kept.
                for &(mf, mi) in members.get(&(f, i)).into_iter().flatten() {
                    let method = &files[mf][mi];
                    let always = matches!(method.keep, Keep::Member { always: true, .. });
                    if always || method.defines.as_deref().is_some_and(|n| named.contains(n)) {
                        pending.push((mf, mi));
                    }
                }
            }
        } else if let Some(name) = names.pop() {
            if !named.insert(name) {
                continue;
            }
            if let Some(found) = defs.get(name) {
                // A method waits for its block.
                pending.extend(found.iter().filter(|&&(f, i)| match files[f][i].keep {
                    Keep::Member { block, .. } => kept[f][block],
                    _ => true,
                }));
                pending.extend(waiting.get(name).into_iter().flatten());
            } else {
                // Not the crate's: perhaps a type a derive declared, named
                // after the type (`BodyBuilder`, `BodyItem`).
                for (end, _) in name.char_indices().skip(1) {
                    pending.extend(derived.get(&name[..end]).into_iter().flatten());
                }
            }
        } else if let Some(word) = module_words.pop() {
            if modules_named.insert(word) {
                pending.extend(modules.get(word).into_iter().flatten());
            }
        } else {
            return kept;
        }
    }
}

/// `text` with the items of `items` not kept replaced by blanks (each
/// byte a space, line breaks kept): the rest at its line and byte offset
/// (and column, unless a removed item with non-ASCII text shares its
/// line).
pub fn blank(text: &str, items: &[Item], kept: &[bool]) -> String {
    let mut out = text.as_bytes().to_vec();
    for (item, _) in items.iter().zip(kept).filter(|(_, kept)| !**kept) {
        let Some(gone) = text.get(item.range.clone()) else {
            continue;
        };
        out[item.range.clone()].fill(b' ');
        for line_break in ['\n', '\r'] {
            for (at, _) in gone.match_indices(line_break) {
                out[item.range.start + at] = line_break as u8;
            }
        }
    }
    // Whole characters were replaced by ASCII spaces.
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// Writes a pruned copy of the package at `package_dir` under `shadow`:
/// `src/` with `files` (path under the package, text) and every other file
/// of `src/` linked; every other entry of the package linked, so that
/// `include_str!`, `#[path]` and the like find what they found. Nothing
/// is ever written through a link: every directory of the copy's `src/`
/// is a directory of its own (a linked one is made one), and a `.rs` file
/// of the copy that the sources no longer have is removed (a module moved
/// from `a.rs` to `a/mod.rs` would be found twice).
pub fn write_shadow(
    package_dir: &Path,
    shadow: &Path,
    files: &[(PathBuf, String)],
) -> std::io::Result<()> {
    std::fs::create_dir_all(shadow.join("src"))?;
    for entry in std::fs::read_dir(package_dir)?.flatten() {
        if entry.file_name() != "src" {
            link(&entry.path(), &shadow.join(entry.file_name()))?;
        }
    }
    let copies: HashSet<PathBuf> = files
        .iter()
        .filter_map(|(path, _)| Some(shadow.join(path.strip_prefix(package_dir).ok()?)))
        .collect();
    mirror(&package_dir.join("src"), &shadow.join("src"), &copies)?;
    for (path, text) in files {
        let Ok(relative) = path.strip_prefix(package_dir) else {
            continue;
        };
        let copy = shadow.join(relative);
        if std::fs::read_to_string(&copy).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&copy, text)?;
        }
    }
    Ok(())
}

/// `dir`'s directories made under `copy` (real ones, links followed), its
/// files other than `.rs` linked there, and the `.rs` files and the
/// directories there that are not `copies` or `dir`'s removed.
fn mirror(dir: &Path, copy: &Path, copies: &HashSet<PathBuf>) -> std::io::Result<()> {
    if std::fs::symlink_metadata(copy).is_ok_and(|meta| !meta.is_dir()) {
        std::fs::remove_file(copy)?;
    }
    std::fs::create_dir_all(copy)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let (path, to) = (entry.path(), copy.join(entry.file_name()));
        if path.is_dir() {
            mirror(&path, &to, copies)?;
        } else if path.extension().is_none_or(|ext| ext != "rs") {
            link(&path, &to)?;
        }
    }
    for entry in std::fs::read_dir(copy)?.flatten() {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            // A directory the sources no longer have (`a/mod.rs` moved to
            // `a.rs`): its links are removed, not what they point at.
            if !dir.join(entry.file_name()).is_dir() {
                std::fs::remove_dir_all(&path)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "rs")
            && (!copies.contains(&path) || kind.is_symlink())
        {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

fn link(original: &Path, at: &Path) -> std::io::Result<()> {
    if std::fs::read_link(at).is_ok_and(|target| target == original) {
        return Ok(());
    }
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink(original, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of the items kept when `roots` (function names) are.
    fn kept_names(text: &str, roots: &[&str]) -> Vec<String> {
        let file = syn::parse_file(text).unwrap();
        let mut items = Vec::new();
        outline(&file.items, "", &mut items);
        let starts: Vec<usize> = roots
            .iter()
            .map(|root| text.find(&format!("fn {root}")).unwrap())
            .collect();
        let roots: Vec<Root> = starts
            .iter()
            .map(|&at| Root {
                file: 0,
                at,
                refs: &[],
            })
            .collect();
        let kept = kept(&[&items], &roots);
        let out = blank(text, &items, &kept[0]);
        assert_eq!(out.len(), text.len());
        assert_eq!(out.lines().count(), text.lines().count());
        syn::parse_file(&out).expect("a pruned file parses");
        proc_macro2::extra::invalidate_current_thread_spans();
        items
            .iter()
            .zip(&kept[0])
            .filter(|(_, kept)| **kept)
            .map(|(item, _)| {
                let text = &text[item.range.clone()];
                let code: Vec<&str> = text
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("///"))
                    .filter(|line| !line.trim_start().starts_with("#["))
                    .collect();
                let code = code.join(" ");
                let words: Vec<&str> = code.split_whitespace().filter(|w| *w != "pub").collect();
                words[..2.min(words.len())].join(" ")
            })
            .collect()
    }

    const LIB: &str = "use std::fmt;\n\
        pub struct Body { pub x: u64 }\n\
        pub struct Unused;\n\
        impl Body { fn area(&self) -> u64 { helper(self.x) } }\n\
        impl fmt::Display for Unused { fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { Ok(()) } }\n\
        fn helper(x: u64) -> u64 { x * K }\n\
        const K: u64 = 2;\n\
        fn other() -> u64 { 3 }\n\
        pub mod m {\n    /// A rule.\n    pub fn rule(b: &super::Body) -> u64 { b.area() }\n    \
        fn far() -> Vec<super::Unused> { Vec::new() }\n}\n\
        #[unsafe(no_mangle)]\npub extern \"C\" fn exported() {}\n\
        trait Shape {}\nimpl<T: Copy> Shape for T {}\n";

    #[test]
    fn what_a_root_names_is_kept_and_nothing_else() {
        assert_eq!(
            kept_names(LIB, &["rule"]),
            [
                "use std::fmt;",
                "struct Body",
                "impl Body",
                "fn area(&self)",
                "fn helper(x:",
                "const K:",
                "fn rule(b:",
                "extern \"C\"",
                "trait Shape",
                "impl<T: Copy>",
            ]
        );
    }

    #[test]
    fn a_kept_impl_keeps_its_trait_and_a_type_keeps_its_impls() {
        let kept = kept_names(LIB, &["far"]);
        assert!(kept.contains(&"struct Unused;".to_string()), "{kept:?}");
        assert!(
            kept.iter().any(|k| k.starts_with("impl fmt::Display")),
            "{kept:?}"
        );
        assert!(
            !kept.iter().any(|k| k.starts_with("struct Body")),
            "{kept:?}"
        );
        // The blanket impl keeps its trait.
        assert!(kept.contains(&"trait Shape".to_string()), "{kept:?}");
    }

    #[test]
    fn the_copy_never_writes_through_a_link_and_drops_files_gone_from_the_sources() {
        let dir = tempfile::tempdir().unwrap();
        let (package, shadow) = (dir.path().join("package"), dir.path().join("shadow"));
        let write = |path: &Path, text: &str| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(&package.join("Cargo.toml"), "[package]");
        write(&package.join("src/lib.rs"), "mod sub; mod linked;");
        write(&package.join("src/data.txt"), "data");
        write(&package.join("src/sub/mod.rs"), "fn a() {}");
        write(&dir.path().join("elsewhere/mod.rs"), "fn b() {}");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), package.join("src/linked"))
            .unwrap();
        // Left by an earlier build: a link where a directory belongs, and a
        // file the sources no longer have.
        write(&shadow.join("src/old.rs"), "mod gone;");
        write(&shadow.join("src/moved/mod.rs"), "mod gone;");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), shadow.join("src/sub")).unwrap();
        let files: Vec<(PathBuf, String)> = ["src/lib.rs", "src/sub/mod.rs", "src/linked/mod.rs"]
            .iter()
            .map(|file| (package.join(file), format!("// pruned {file}")))
            .collect();
        write_shadow(&package, &shadow, &files).unwrap();
        for file in ["src/lib.rs", "src/sub/mod.rs", "src/linked/mod.rs"] {
            let copy = shadow.join(file);
            assert_eq!(
                std::fs::read_to_string(&copy).unwrap(),
                format!("// pruned {file}")
            );
            assert!(
                !std::fs::symlink_metadata(copy.parent().unwrap())
                    .unwrap()
                    .is_symlink()
            );
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("elsewhere/mod.rs")).unwrap(),
            "fn b() {}"
        );
        assert!(!shadow.join("src/old.rs").exists());
        assert!(!shadow.join("src/moved").exists());
        assert_eq!(
            std::fs::read_to_string(shadow.join("src/data.txt")).unwrap(),
            "data"
        );
        assert!(
            std::fs::symlink_metadata(shadow.join("Cargo.toml"))
                .unwrap()
                .is_symlink()
        );
        // Again, with nothing changed: the same.
        write_shadow(&package, &shadow, &files).unwrap();
        assert_eq!(
            std::fs::read_to_string(shadow.join("src/linked/mod.rs")).unwrap(),
            "// pruned src/linked/mod.rs"
        );
    }

    #[test]
    fn an_impl_for_an_alias_is_kept_as_an_impl_for_another_crates_type() {
        // Left out, `g.first()` would call the slice's `first`: same
        // signature, another method.
        let lib = "pub type Grid = Vec<Vec<u8>>;\n\
                   pub trait GridExt { fn first(&self) -> Option<&Vec<u8>>; }\n\
                   impl GridExt for Grid { fn first(&self) -> Option<&Vec<u8>> { None } }\n\
                   use self::GridExt as _;\n\
                   fn root(g: &Vec<Vec<u8>>) -> usize { g.first().map_or(0, |r| r.len()) }\n";
        let kept = kept_names(lib, &["root"]);
        assert!(kept.contains(&"impl GridExt".to_string()), "{kept:?}");
        assert!(kept.contains(&"trait GridExt".to_string()), "{kept:?}");
    }

    #[test]
    fn an_impl_comes_with_the_type_it_is_for_whatever_its_arguments() {
        let lib = "pub struct Conn<S>(S);\npub struct Open;\npub struct Closed;\n\
                   impl Conn<Open> { fn send(&self) {} }\n\
                   impl<'input> Conn<Closed> { fn open(self) -> Conn<Open> { Conn(Open) } }\n\
                   fn input() {}\n\
                   fn root(c: Conn<Closed>) { c.open().send() }\n";
        let kept = kept_names(lib, &["root"]);
        for item in [
            "struct Conn<S>(S);",
            "struct Open;",
            "struct Closed;",
            "impl Conn<Open>",
        ] {
            assert!(kept.contains(&item.to_string()), "{item}: {kept:?}");
        }
        // A lifetime is not a name.
        assert!(!kept.contains(&"fn input()".to_string()), "{kept:?}");
    }

    #[test]
    fn derive_helpers_names_a_derive_declares_and_serde_with_modules_keep_their_items() {
        let lib = "#[derive(Builder)]\n#[builder(pattern = \"owned\")]\npub struct Body { x: u64 }\n\
                   #[derive(Serialize)]\npub struct Stamp { #[serde(with = \"unix\")] at: u64 }\n\
                   mod unix {\n    pub fn serialize() {}\n    pub fn deserialize() {}\n}\n\
                   pub struct Other;\n\
                   fn root() { let _ = BodyBuilder::default(); let _: Option<Stamp> = None; }\n";
        let kept = kept_names(lib, &["root"]);
        assert_eq!(
            kept,
            [
                "struct Body",
                "struct Stamp",
                "fn serialize()",
                "fn deserialize()",
                "fn root()"
            ]
        );
    }

    #[test]
    fn test_code_keeps_nothing_and_a_body_that_declares_an_impl_is_kept() {
        let lib = "fn helper() -> u64 { 1 }\n\
                   #[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { super::helper(); }\n}\n\
                   #[test]\nfn also() { helper(); }\n\
                   pub struct S;\nfn setup() { impl S { fn x(&self) {} } }\n\
                   fn r#match() {}\n\
                   fn root() { r#match() }\n";
        let kept = kept_names(lib, &["root"]);
        assert_eq!(
            kept,
            ["struct S;", "fn setup()", "fn r#match()", "fn root()"]
        );
    }

    #[test]
    fn a_method_nobody_names_is_left_out_of_its_block() {
        let lib = "pub struct World { n: u64 }\n\
                   impl World {\n    \
                   pub const START: u64 = 1;\n    \
                   pub fn new() -> World { World { n: Self::START } }\n    \
                   pub fn step(&mut self) { self.n += far() }\n    \
                   #[tracing::instrument]\n    pub fn traced(&self) {}\n\
                   }\n\
                   fn far() -> u64 { 2 }\n\
                   fn root() -> World { World::new() }\n";
        let kept = kept_names(lib, &["root"]);
        assert_eq!(
            kept,
            [
                "struct World",
                "impl World",
                "fn new()",
                "fn traced(&self)",
                "fn root()"
            ]
        );
    }

    #[test]
    fn a_module_an_attribute_macro_reads_is_kept_whole() {
        let lib = "#[attr]\nmod m {\n    fn inner() -> u32 { 1 }\n}\n\
                   mod n {\n    fn other() -> u32 { 2 }\n}\nfn root() {}\n";
        assert_eq!(kept_names(lib, &["root"]), ["mod m", "fn root()"]);
    }

    #[test]
    fn names_in_string_literals_keep_their_items() {
        let lib = "#[derive(Default)]\nstruct S { #[serde(default = \"start\")] x: u64 }\n\
                   fn start() -> u64 { 1 }\nfn root() -> S { S::default() }\n";
        assert_eq!(
            kept_names(lib, &["root"]),
            ["struct S", "fn start()", "fn root()"]
        );
    }
}
