//! Quick builds: a direct hot build that compiles in full only the hot
//! functions whose body changed since the build that went live, and leaves
//! every other hot function to the program's code (see the macros' `thin`
//! module): each `#[hot]` costs a rebuild a few milliseconds, changed or
//! not, and a library with hundreds of them spent most of a reload on the
//! ones the save did not touch.
//!
//! A thin function is only its trampoline, calling through the program's
//! own slot, which always holds the function's newest code. That is right
//! exactly when nothing but hot function bodies changed: a changed
//! constant, helper, type, signature or `use` could change what the
//! unchanged functions' code means, and only a full build compiles them
//! against it. So each file is compared as a *skeleton* (its tokens with
//! the bodies of hot functions left out) with the same file in the build
//! that went live; if any skeleton differs, or a file came or went, the
//! build is a full one. Otherwise the hot functions whose body tokens are
//! the same are thin.
//!
//! The base is the last build that went live (a refused or failed build
//! does not count); the first build after start is a full one (which
//! sources the program was built from is not known for sure). Never thin:
//! a function whose body declares items (an `impl` in it applies to the
//! whole crate), and nothing in a program that lacks some hot function of
//! the sources (added since it started; see [`Quick::disable`]). A file
//! that does not parse makes builds full until it does.
//!
//! The list is the build's `HOTRELOAD_THIN` environment variable: per
//! file, the lines of the thin functions' names (the macro finds itself by
//! the span of its name).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::PathBuf;

use quote::ToTokens;
use syn::visit_mut::VisitMut;

use crate::types::Snapshot;

/// A hot function of a file, where it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HotFn {
    /// Module path in the file, impl, name.
    key: String,
    /// The line of its name.
    line: usize,
    /// Its body, braces included, in the file's text.
    body: Range<usize>,
    /// Its body changed since the build that went live.
    dirty: bool,
    /// Its body declares items: never thin.
    has_items: bool,
}

/// A file as the thin decision knows it.
struct File {
    text: String,
    /// Its tokens with the hot functions' bodies left out.
    skeleton: String,
    hot: Vec<HotFn>,
    /// Deleted (or unreadable) since.
    gone: bool,
    /// Its newest text does not parse (a save half-way, or a fragment for
    /// `include!`): full builds until it does; `text` and `hot` are the
    /// last parsed ones.
    broken: bool,
}

/// The package's files: as now, and what the build that went live had.
pub struct Quick {
    src: PathBuf,
    files: HashMap<PathBuf, File>,
    /// The skeletons of the build that went live, by file.
    live: HashMap<PathBuf, String>,
    /// The base is not known (a file changed after the executable was
    /// built, or a quick build could not be linked): full until a build
    /// goes live.
    unknown: bool,
    /// See [`Quick::disable`].
    off: bool,
}

impl Quick {
    /// Starts from the program's sources.
    pub fn new(snapshot: &Snapshot) -> Quick {
        let mut quick = Quick {
            src: snapshot.src().to_path_buf(),
            files: HashMap::new(),
            live: HashMap::new(),
            // Which sources the program was built from is not known for
            // sure (a file saved while cargo built it is older than the
            // executable but not in it): the first build is a full one,
            // and the base from then on.
            unknown: true,
            off: false,
        };
        for (path, text) in snapshot.files().map(|(path, text, _)| (path, text)) {
            if let Some(file) = parse(text) {
                quick.live.insert(path.to_path_buf(), file.skeleton.clone());
                quick.files.insert(path.to_path_buf(), file);
            }
        }
        quick
    }

    /// Decides the next build from the files as they are now: the list of
    /// thin functions for `HOTRELOAD_THIN` (one line per file: the file,
    /// a tab, the lines of their names joined by commas), or `None` for a
    /// full build.
    pub fn plan(&mut self) -> Option<String> {
        let mut paths = Vec::new();
        crate::types::rust_files(&self.src, &mut paths);
        // A file gone is kept as it was (a full build until it is back; if
        // it comes back, it is compared with what it was).
        for (path, file) in &mut self.files {
            file.gone = !paths.contains(path);
        }
        for path in paths {
            if let Ok(text) = std::fs::read_to_string(&path) {
                self.update(path, text);
            } else if let Some(file) = self.files.get_mut(&path) {
                file.gone = true;
            }
        }
        self.decide()
    }

    /// [`Quick::plan`] for the files as known.
    fn decide(&self) -> Option<String> {
        let full = self.unknown
            || self.off
            || self.files.len() != self.live.len()
            || self.files.values().any(|file| file.gone || file.broken)
            || self
                .files
                .iter()
                .any(|(path, file)| self.live.get(path) != Some(&file.skeleton));
        if full {
            return None;
        }
        let mut list = String::new();
        let mut files: Vec<(&PathBuf, &File)> = self.files.iter().collect();
        files.sort_by_key(|(path, _)| *path);
        for (path, file) in files {
            let lines: Vec<String> = file
                .hot
                .iter()
                .filter(|hot| !hot.dirty && unique(&file.hot, &hot.key))
                .map(|hot| hot.line.to_string())
                .collect();
            if !lines.is_empty() {
                let _ = writeln!(list, "{}\t{}", path.display(), lines.join(","));
            }
        }
        (!list.is_empty()).then_some(list)
    }

    /// Takes the file's new text: an edit inside one hot body moves the
    /// others (no parse); anything else is parsed again.
    fn update(&mut self, path: PathBuf, text: String) {
        let Some(file) = self.files.get_mut(&path) else {
            // A new file: full (the set of files changed).
            let file = parse(&text).unwrap_or_else(|| File {
                text: String::new(),
                skeleton: String::new(),
                hot: Vec::new(),
                gone: false,
                broken: true,
            });
            let mut file = file;
            for hot in &mut file.hot {
                hot.dirty = true;
            }
            self.files.insert(path, file);
            return;
        };
        file.gone = false;
        if file.text == text {
            file.broken = false;
            return;
        }
        if edit_one_body(file, &text) {
            file.text = text;
            file.broken = false;
            return;
        }
        let Some(mut parsed) = parse(&text) else {
            // Compared again with the last text that parsed, once it does.
            file.broken = true;
            return;
        };
        // Dirty: dirty before, new, or its body reads differently.
        for hot in &mut parsed.hot {
            let before = file.hot.iter().find(|old| old.key == hot.key);
            hot.dirty |= before.is_none_or(|old| {
                old.dirty || file.text.get(old.body.clone()) != text.get(hot.body.clone())
            });
        }
        *file = parsed;
    }

    /// No more quick builds for this program: it lacks hot functions the
    /// sources have (added since it started; a new function's callers
    /// reach it through their own build's slot, which only a full build
    /// renews), or a thin one could not be linked.
    pub fn disable(&mut self) {
        self.off = true;
    }

    /// The build planned last went live (a build made stale by a later
    /// save never does): it is the base from now on.
    pub fn went_live(&mut self) {
        self.unknown = false;
        self.files.retain(|_, file| !file.gone);
        self.live = self
            .files
            .iter()
            .map(|(path, file)| (path.clone(), file.skeleton.clone()))
            .collect();
        for file in self.files.values_mut() {
            for hot in &mut file.hot {
                hot.dirty = hot.has_items;
            }
        }
    }
}

/// Whether `key` names one hot function of the file (the same name under
/// two `cfg`s is built in full).
fn unique(hot: &[HotFn], key: &str) -> bool {
    hot.iter().filter(|other| other.key == key).count() == 1
}

/// If `text` differs from the file's text only inside one hot function's
/// body, marks that function dirty, moves the others, and returns true.
fn edit_one_body(file: &mut File, text: &str) -> bool {
    let (old, new) = (file.text.as_bytes(), text.as_bytes());
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let longest = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(longest)
        .take_while(|(a, b)| a == b)
        .count();
    let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
    let Some(index) = file
        .hot
        .iter()
        .position(|hot| hot.body.start < prefix && old_end < hot.body.end)
    else {
        return false;
    };
    let newlines = |bytes: &[u8]| bytes.iter().filter(|&&b| b == b'\n').count() as isize;
    let lines = newlines(&new[prefix..new_end]) - newlines(&old[prefix..old_end]);
    let bytes = new_end as isize - old_end as isize;
    let moved = |at: usize, by: isize| (at as isize + by) as usize;
    for (other, hot) in file.hot.iter_mut().enumerate() {
        if other == index {
            hot.dirty = true;
            hot.body.end = moved(hot.body.end, bytes);
        } else if hot.body.start >= old_end {
            hot.line = moved(hot.line, lines);
            hot.body = moved(hot.body.start, bytes)..moved(hot.body.end, bytes);
        }
    }
    true
}

fn parse(text: &str) -> Option<File> {
    let parsed = syn::parse_file(text).ok().map(|mut file| {
        let mut hollow = Hollow {
            module: Vec::new(),
            hot: Vec::new(),
        };
        hollow.visit_file_mut(&mut file);
        File {
            text: text.to_string(),
            skeleton: file.to_token_stream().to_string(),
            hot: hollow.hot,
            gone: false,
            broken: false,
        }
    });
    // Spans were read: free the text proc-macro2 keeps for them.
    proc_macro2::extra::invalidate_current_thread_spans();
    parsed
}

/// Empties the bodies of hot functions, noting them.
struct Hollow {
    module: Vec<String>,
    hot: Vec<HotFn>,
}

fn is_hot(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "hot")
    })
}

/// What `#[hot]` makes hot in an impl block: the macros' own rules, the
/// very file they compile (a method they leave as written must keep its
/// body in the skeleton).
#[path = "../../hotreload-macros/src/valid.rs"]
#[allow(dead_code)]
mod valid;

impl Hollow {
    fn take(&mut self, owner: &str, sig: &syn::Signature, block: &mut syn::Block) {
        // An item declared in the body (an `impl` applies to the whole
        // crate) would vanish with it: such a function is never thin.
        let has_items = block
            .stmts
            .iter()
            .any(|stmt| matches!(stmt, syn::Stmt::Item(_)));
        self.hot.push(HotFn {
            key: format!("{}::{owner}{}", self.module.join("::"), sig.ident),
            line: sig.ident.span().start().line,
            body: block.brace_token.span.join().byte_range(),
            dirty: has_items,
            has_items,
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

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = "const K: u32 = 1;\n\
                       #[hot]\nfn a() -> u32 { K }\n\
                       #[hot]\nfn b() -> u32 { 2 }\n\
                       struct S;\n\
                       #[hot]\nimpl S {\n    fn c(&self) -> u32 { 3 }\n    const fn d() -> u32 { 4 }\n}\n";

    fn quick() -> Quick {
        let path = PathBuf::from("src/lib.rs");
        let file = parse(LIB).unwrap();
        Quick {
            src: PathBuf::from("src"),
            live: HashMap::from([(path.clone(), file.skeleton.clone())]),
            files: HashMap::from([(path, file)]),
            unknown: false,
            off: false,
        }
    }

    /// The thin functions' lines after `edit`.
    fn thin_after(quick: &mut Quick, edit: (&str, &str)) -> Option<String> {
        let text = quick.files[&PathBuf::from("src/lib.rs")]
            .text
            .replace(edit.0, edit.1);
        quick.update(PathBuf::from("src/lib.rs"), text);
        quick
            .decide()
            .map(|list| list.trim_end().split_once('\t').unwrap().1.to_string())
    }

    #[test]
    fn only_hot_bodies_changed_leaves_the_others_thin() {
        let mut quick = quick();
        assert_eq!(quick.decide().as_deref(), Some("src/lib.rs\t3,5,9\n"));
        // `b`'s body: `a` and `c` are thin.
        assert_eq!(
            thin_after(&mut quick, ("{ 2 }", "{ 20 }")).as_deref(),
            Some("3,9")
        );
        // Two more lines in `a`'s body: `c` moved down, and `a` is dirty too.
        let thin = thin_after(&mut quick, ("{ K }", "{\n    K\n}"));
        assert_eq!(thin.as_deref(), Some("11"));
        // Once that build is live, all are thin again, where they are now.
        quick.went_live();
        assert_eq!(quick.decide().as_deref(), Some("src/lib.rs\t3,7,11\n"));
        // Reformatting outside the bodies: parsed again, still thin.
        assert_eq!(
            thin_after(&mut quick, ("struct S;", "struct  S ;")).as_deref(),
            Some("3,7,11")
        );
    }

    #[test]
    fn a_file_deleted_and_restored_with_an_edit_has_that_function_built() {
        let mut quick = quick();
        let path = PathBuf::from("src/lib.rs");
        quick.files.get_mut(&path).unwrap().gone = true;
        assert_eq!(quick.decide(), None);
        let text = LIB.replace("{ 2 }", "{ 20 }");
        quick.update(path, text);
        assert_eq!(quick.decide().as_deref(), Some("src/lib.rs\t3,9\n"));
    }

    #[test]
    fn a_save_that_does_not_parse_is_full_and_its_edits_are_kept() {
        let mut quick = quick();
        // Two bodies edited, one left broken: full.
        let broken = LIB.replace("{ 2 }", "{ 20 }").replace("{ K }", "{ K + }");
        quick.update(PathBuf::from("src/lib.rs"), broken);
        assert_eq!(quick.decide(), None);
        // Fixed: both edited functions are built, `c` alone is thin.
        let fixed = LIB.replace("{ 2 }", "{ 20 }").replace("{ K }", "{ K + 1 }");
        quick.update(PathBuf::from("src/lib.rs"), fixed);
        assert_eq!(quick.decide().as_deref(), Some("src/lib.rs\t9\n"));
    }

    #[test]
    fn a_body_that_declares_items_is_never_thin() {
        let lib = LIB.replace(
            "{ 2 }",
            "{ impl Default for S { fn default() -> S { S } } 2 }",
        );
        let path = PathBuf::from("src/lib.rs");
        let file = parse(&lib).unwrap();
        let mut quick = Quick {
            src: PathBuf::from("src"),
            live: HashMap::from([(path.clone(), file.skeleton.clone())]),
            files: HashMap::from([(path, file)]),
            unknown: false,
            off: false,
        };
        quick.went_live();
        assert_eq!(quick.decide().as_deref(), Some("src/lib.rs\t3,9\n"));
    }

    #[test]
    fn anything_else_changed_is_a_full_build() {
        for edit in [
            ("const K: u32 = 1;", "const K: u32 = 9;"),
            ("fn b() -> u32", "fn b() -> u64"),
            ("struct S;", "struct S(u8);"),
            // A `const fn` in a hot impl is not hot: its body counts.
            ("{ 4 }", "{ 40 }"),
        ] {
            assert_eq!(thin_after(&mut quick(), edit), None, "{edit:?}");
        }
    }
}
