//! Pruned quick builds: a quick build (see [`crate::thin`]) compiles a copy
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
//!   any kept code names: functions, types, traits, constants, statics;
//! - an `impl` when every name of the crate's in its self type is kept
//!   (`impl Trait for Body` comes with `Body`; the trait comes with it);
//!   with none (`impl<T: Local> Other for T`, `impl Local for u32`),
//!   always;
//! - always: `use` declarations (a trait imported for its methods is never
//!   named), macros and their calls, `extern` blocks and crates,
//!   out-of-line modules, `const _`, and any item with an attribute beyond
//!   the inert ones (`#[no_mangle]`, `#[used]`, a linker section, an
//!   attribute macro: they may do something nobody names);
//! - modules, always (their items are decided one by one).
//!
//! An unchanged hot function that is kept is thin (its trampoline): it
//! names only what its signature names. A removed item's text is replaced
//! by blanks, newlines kept, so every kept item is at the line and column
//! it has in the real file (`line!()`, panics and backtraces say what the
//! full build would say; paths are mapped back with
//! `--remap-path-prefix`).
//!
//! A name built by a macro out of pieces (`paste!`) is not seen: such a
//! build fails to compile. A quick build that fails is built again in full
//! (see the reloader), and once a pruned one failed where the full build
//! of the same sources did not, this program's quick builds are no longer
//! pruned. `HOTRELOAD_PRUNE=0` turns pruning off.

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
    /// The names it declares.
    defines: Vec<String>,
    keep: Keep,
    /// The identifiers in it (hot bodies left out: see [`Root`]).
    refs: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Keep {
    /// Whatever kept code names.
    Always,
    /// When kept code names it.
    Named,
    /// An `impl`: when every one of these that the crate declares is kept
    /// (the identifiers of its self type, its own generics left out).
    Impl(Vec<String>),
}

/// The items of a parsed file (after hot bodies were emptied, so their
/// tokens are not in the items' names). A module with an attribute that
/// is not inert (an attribute macro reads the whole module) is one item.
pub fn outline(items: &[syn::Item], out: &mut Vec<Item>) {
    for item in items {
        match item {
            syn::Item::Mod(syn::ItemMod {
                attrs,
                content: Some((_, inner)),
                ..
            }) if attrs.iter().all(inert) => outline(inner, out),
            item => out.push(describe(item)),
        }
    }
}

fn describe(item: &syn::Item) -> Item {
    use syn::Item as I;
    let (attrs, name, keep): (&[syn::Attribute], Option<&syn::Ident>, Keep) = match item {
        I::Fn(item) => (&item.attrs, Some(&item.sig.ident), Keep::Named),
        I::Struct(item) => (&item.attrs, Some(&item.ident), Keep::Named),
        I::Enum(item) => (&item.attrs, Some(&item.ident), Keep::Named),
        I::Union(item) => (&item.attrs, Some(&item.ident), Keep::Named),
        I::Type(item) => (&item.attrs, Some(&item.ident), Keep::Named),
        I::Trait(item) => (&item.attrs, Some(&item.ident), Keep::Named),
        I::TraitAlias(item) => (&item.attrs, Some(&item.ident), Keep::Named),
        I::Static(item) => (&item.attrs, Some(&item.ident), Keep::Named),
        I::Const(item) if item.ident != "_" => (&item.attrs, Some(&item.ident), Keep::Named),
        I::Impl(item) => {
            let generics: HashSet<String> = item
                .generics
                .params
                .iter()
                .filter_map(|param| match param {
                    syn::GenericParam::Type(param) => Some(param.ident.to_string()),
                    syn::GenericParam::Const(param) => Some(param.ident.to_string()),
                    syn::GenericParam::Lifetime(_) => None,
                })
                .collect();
            let mut names = Vec::new();
            identifiers(item.self_ty.to_token_stream(), &mut names);
            names.retain(|name| !generics.contains(name));
            (&item.attrs, None, Keep::Impl(names))
        }
        _ => (&[], None, Keep::Always),
    };
    let keep = if attrs.iter().all(inert) {
        keep
    } else {
        Keep::Always
    };
    let mut refs = Vec::new();
    identifiers(item.to_token_stream(), &mut refs);
    Item {
        range: item.span().byte_range(),
        defines: name.map(ToString::to_string).into_iter().collect(),
        keep,
        refs,
    }
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
                    | "hot"
            )
        )
}

/// The identifiers in `tokens`, and the words of its string literals,
/// each once.
pub fn identifiers(tokens: TokenStream, out: &mut Vec<String>) {
    fn walk(tokens: TokenStream, seen: &mut HashSet<String>) {
        let mut tokens = tokens.into_iter().peekable();
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
            match token {
                TokenTree::Ident(ident) => {
                    let name = ident.to_string();
                    let name = name.strip_prefix("r#").map(str::to_string).unwrap_or(name);
                    seen.insert(name);
                }
                TokenTree::Group(group) => walk(group.stream(), seen),
                TokenTree::Literal(literal) => {
                    let text = literal.to_string();
                    // A string (raw and byte ones too), not a number or
                    // a character.
                    if text.contains('"') {
                        for word in text
                            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .filter(|word| {
                                word.starts_with(|c: char| c.is_alphabetic() || c == '_')
                            })
                        {
                            seen.insert(word.to_string());
                        }
                    }
                }
                TokenTree::Punct(_) => {}
            }
        }
    }
    let mut seen: HashSet<String> = out.drain(..).collect();
    walk(tokens, &mut seen);
    out.extend(seen);
    out.sort_unstable();
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
    let mut defs: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    for (f, items) in files.iter().enumerate() {
        for (i, item) in items.iter().enumerate() {
            for name in &item.defines {
                defs.entry(name).or_default().push((f, i));
            }
        }
    }
    let mut pending: Vec<(usize, usize)> = Vec::new();
    // Impls by a name of their self type, and how many of those are not
    // named yet.
    let mut waiting: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    let mut unnamed: HashMap<(usize, usize), usize> = HashMap::new();
    for (f, items) in files.iter().enumerate() {
        for (i, item) in items.iter().enumerate() {
            match &item.keep {
                Keep::Always => pending.push((f, i)),
                Keep::Named => {}
                Keep::Impl(names) => {
                    let mut local: Vec<&str> = names
                        .iter()
                        .map(String::as_str)
                        .filter(|name| defs.contains_key(name))
                        .collect();
                    local.sort_unstable();
                    local.dedup();
                    if local.is_empty() {
                        pending.push((f, i));
                    } else {
                        unnamed.insert((f, i), local.len());
                        for name in local {
                            waiting.entry(name).or_default().push((f, i));
                        }
                    }
                }
            }
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for root in roots {
        if let Some(i) = files[root.file]
            .iter()
            .position(|item| item.range.contains(&root.at))
        {
            pending.push((root.file, i));
        }
        names.extend(root.refs.iter().map(String::as_str));
    }
    let mut kept: Vec<Vec<bool>> = files.iter().map(|items| vec![false; items.len()]).collect();
    let mut named: HashSet<&str> = HashSet::new();
    loop {
        if let Some((f, i)) = pending.pop() {
            if !std::mem::replace(&mut kept[f][i], true) {
                names.extend(files[f][i].refs.iter().map(String::as_str));
            }
        } else if let Some(name) = names.pop() {
            if !named.insert(name) {
                continue;
            }
            pending.extend(defs.get(name).into_iter().flatten());
            for &impl_ in waiting.get(name).into_iter().flatten() {
                let left = unnamed.get_mut(&impl_).expect("counted");
                *left -= 1;
                if *left == 0 {
                    pending.push(impl_);
                }
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
/// files other than `.rs` linked there, and the `.rs` files there that
/// are not `copies` removed.
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
        let rust = path.extension().is_some_and(|ext| ext == "rs");
        if rust && (!copies.contains(&path) || entry.file_type()?.is_symlink()) {
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
        outline(&file.items, &mut items);
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
