//! Pruned quick builds: a quick build (see [`crate::build::quick`]) compiles a copy
//! of the package's sources with every item the changed hot functions
//! cannot reach left out, so that a save costs about what the changed
//! code costs, whatever the size of the library around it.
//!
//! An unpruned quick build still made rustc read, expand, resolve and hash every
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
//! module) could name anything: such a crate is not pruned (see `build::quick`).
//! A name a macro of another crate writes, or pastes together, is not
//! seen: such a build fails to compile. A quick build that fails is built
//! again in full (see the reloader), and once a pruned one failed where
//! the full build of the same sources did not, this program's quick
//! builds are no longer pruned. `HOTRELOAD_PRUNE=0` turns pruning off.

mod blank;
mod copy;
mod outline;
mod reach;
mod tokens;

use std::ops::Range;

pub use blank::blank;
pub use copy::write_shadow;
pub use outline::{names_in, outermost, outline};
pub use reach::{Root, kept};
pub use tokens::identifiers;

/// An item of a file, at any depth of its inline modules (a module itself
/// is not one: its items are).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its text in the file, attributes and doc comments included.
    pub range: Range<usize>,
    /// The name it declares, if any.
    pub(super) defines: Option<String>,
    pub(super) kind: Kind,
    /// The module it is in (innermost), by name: `#[serde(with =
    /// "module")]` names a module and means its functions.
    pub(super) module: String,
    pub(super) keep: Keep,
    /// The identifiers in it (hot bodies left out: see [`Root`]), and the
    /// words of its string literals.
    pub(in crate::build::quick) refs: Vec<String>,
    /// The words of the string literals in its attributes: a module named
    /// there (`#[serde(with = "unix")]`) is kept whole.
    pub(in crate::build::quick) words: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
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
pub(super) enum Keep {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

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
