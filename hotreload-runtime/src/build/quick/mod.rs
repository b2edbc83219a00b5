//! Quick builds: a direct hot build that compiles in full only the hot
//! functions whose body changed since the build that went live, and leaves
//! every other hot function to the program's code (see the macros' `thin`
//! module): each `#[hot]` costs a rebuild a few milliseconds, changed or
//! not, and a library with hundreds of them spent most of a reload on the
//! ones the save did not touch.
//!
//! A thin function is only its trampoline, calling through the program's
//! own slot, which always holds the function's newest code. That is right
//! when nothing but hot function bodies changed: a changed constant, type,
//! signature or `use` could change what the unchanged functions' code
//! means, and only a full build compiles them against it. So each file is
//! compared as a *skeleton* (its tokens with the bodies of hot functions
//! and the plain items below left out) with the same file in the build
//! that went live; if any skeleton differs, or a file came or went, the
//! build is a full one. Otherwise the hot functions whose body tokens are
//! the same are thin.
//!
//! More edits are quick: a plain item changed, added or removed, whole
//! (signature too): a free function or inherent method that is not hot,
//! nor `const`, a named constant (module level or in an inherent impl), or
//! a `use` without a glob (by the names it brings in scope).
//! The hot functions that name it, or name a plain item that does, over and
//! over, are built with it, against its new text; the others stay thin and
//! call the program's code, which calls the code it always called (and sees
//! the constants it always saw), as the program's own plain code does after
//! any reload. Unless the item is named where the hot functions' text would
//! not show it (a trait impl's body, reached through an operator or
//! `format!`; a type, such as an array's length; a static; a macro; a hot
//! function's signature): then a full build (see [`Quick::reached`]).
//!
//! An edit inside one hot body or one plain item's body (a helper's code,
//! a constant's value) is told without parsing the file again (`diff`):
//! only that body is read, and everything after it moved.
//!
//! The base is the last build that went live (a refused or failed build
//! does not count); at start, the sources read then, if the program says
//! it was built from them (`Snapshot::built_from`: the `#[hot]` macro kept
//! their hash), else the first build is a full one (file times cannot say
//! which sources the program was built from). Never thin:
//! a function whose body declares items (an `impl` in it applies to the
//! whole crate), and nothing once a thin function could not be linked
//! (see [`Quick::disable`]). A function added since start is left thin
//! like any other: it is linked to the slot of the first build that had it
//! (`apply::arm::link_thin`). A file that does not parse makes builds full
//! until it does.
//!
//! The list is the build's `HOTRELOAD_THIN` environment variable: per
//! file, the lines of the thin functions' names (the macro finds itself by
//! the span of its name).

mod diff;
mod parse;
pub mod prune;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::sources::{self, Snapshot};

use diff::{edit_one_body, edit_one_plain};
use parse::{File, HotFn, parse};

/// The names whose code changed (see [`Quick::reached`]), and for each
/// that only methods declare, the names of their types: a call by path
/// names the type (`Player::new`), so `Vec::new` is not a use of it.
#[derive(Default)]
struct Changed {
    names: HashSet<String>,
    /// Name -> the types whose methods of that name changed, for names that
    /// nothing but methods declare.
    methods: HashMap<String, HashSet<String>>,
    /// Names something other than a method declares.
    free: HashSet<String>,
}

impl Changed {
    /// The names `item` declares.
    fn add(&mut self, item: &parse::PlainItem) {
        for name in &item.names {
            self.names.insert(name.clone());
            match &item.owner {
                Some(owner) => {
                    let types = self.methods.entry(name.clone()).or_default();
                    types.insert(owner.clone());
                }
                None => {
                    self.free.insert(name.clone());
                }
            }
        }
    }

    /// The types of `name`, if only methods declare it.
    fn owners(&self, name: &str) -> Option<&HashSet<String>> {
        (!self.free.contains(name))
            .then(|| self.methods.get(name))
            .flatten()
    }
}

/// A file as the build that went live had it.
struct Live {
    /// See `File::deep`.
    deep: String,
    /// The plain items, by key.
    plain: HashMap<String, parse::PlainItem>,
}

impl Live {
    /// Whether `file` has the same plain items, with the same text.
    fn same_plain(&self, file: &File) -> bool {
        self.plain.len() == file.plain.len()
            && file
                .plain
                .iter()
                .all(|plain| self.plain.get(&plain.key).map(|live| &live.text) == Some(&plain.text))
    }

    fn of(file: &File) -> Live {
        Live {
            deep: file.deep.clone(),
            plain: file
                .plain
                .iter()
                .map(|plain| (plain.key.clone(), plain.clone()))
                .collect(),
        }
    }
}

/// The package's files: as now, and what the build that went live had.
pub struct Quick {
    src: PathBuf,
    files: HashMap<PathBuf, File>,
    /// The build that went live, by file.
    live: HashMap<PathBuf, Live>,
    /// The base is not known (the program does not say it was built from
    /// the sources read at start): full until a build goes live.
    unknown: bool,
    /// See [`Quick::disable`].
    off: bool,
    /// Quick builds compile pruned sources (see [`crate::build::quick::prune`]).
    prune: bool,
}

/// Why a build compiles every hot function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Full {
    /// Which sources the program was built from is not known for sure.
    First,
    /// See [`Quick::disable`].
    Off,
    /// A source file was added or removed.
    Files,
    /// A file does not parse.
    Broken(PathBuf),
    /// A file changed outside the bodies of hot functions.
    Changed(PathBuf),
}

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Full::First => write!(f, "the first build since start"),
            Full::Off => write!(
                f,
                "quick builds are off for this run (a function left out of one could not be \
                 linked to the program)"
            ),
            Full::Files => write!(f, "a source file was added or removed"),
            Full::Broken(path) => write!(f, "`{}` does not parse", path.display()),
            Full::Changed(path) => {
                write!(
                    f,
                    "`{}` changed outside hot function bodies",
                    path.display()
                )
            }
        }
    }
}

/// A quick build: what it leaves to the program, and what it compiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickBuild {
    /// `HOTRELOAD_THIN`: per file, a tab and the lines of the names of
    /// the functions left to the program.
    pub thin: String,
    /// Every source file, pruned (path, text); `None` to compile the
    /// sources as they are.
    pub pruned: Option<Vec<(PathBuf, String)>>,
    /// Plain functions and constants changed or added (`Player::heal`,
    /// `LIMIT`) when no hot function reaches any of them: no new code runs
    /// theirs, and the program's own calls keep the code it was built with.
    pub unreached: Vec<String>,
}

impl Quick {
    /// Starts from the program's sources.
    pub fn new(snapshot: &Snapshot) -> Quick {
        let mut quick = Quick {
            src: snapshot.src.clone(),
            files: HashMap::new(),
            live: HashMap::new(),
            // Which sources the program was built from is not known for
            // sure unless it says so (a file saved while cargo built it is
            // older than the executable but not in it): else the first
            // build is a full one, and the base from then on.
            unknown: !snapshot.built_from,
            off: false,
            prune: std::env::var_os("HOTRELOAD_PRUNE").is_none_or(|v| v != "0"),
        };
        for (path, text, _) in &snapshot.files {
            if let Some(file) = parse(text, path) {
                quick.live.insert(path.to_path_buf(), Live::of(&file));
                quick.files.insert(path.to_path_buf(), file);
            }
        }
        quick
    }

    /// Decides the next build from the files as they are now: a quick
    /// one, or a full one and why, when that is worth saying (`None`:
    /// nothing to leave out).
    pub fn plan(&mut self) -> Result<QuickBuild, Option<Full>> {
        let mut paths = Vec::new();
        sources::rust_files(&self.src, &mut paths);
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
    fn decide(&self) -> Result<QuickBuild, Option<Full>> {
        let relative = |path: &Path| {
            let package = self.src.parent().unwrap_or(&self.src);
            path.strip_prefix(package).unwrap_or(path).to_path_buf()
        };
        if self.unknown {
            return Err(Some(Full::First));
        }
        if self.off {
            return Err(Some(Full::Off));
        }
        if self.files.len() != self.live.len() || self.files.values().any(|file| file.gone) {
            return Err(Some(Full::Files));
        }
        if let Some((path, _)) = self.files.iter().find(|(_, file)| file.broken) {
            return Err(Some(Full::Broken(relative(path))));
        }
        let changed: Vec<(&PathBuf, &File)> = self
            .files
            .iter()
            .filter(|(path, file)| {
                self.live
                    .get(*path)
                    .is_none_or(|live| live.deep != file.deep || !live.same_plain(file))
            })
            .collect();
        let (reached, edited) = match changed.first() {
            None => (HashSet::new(), Vec::new()),
            Some((path, _)) => self
                .reached(&changed)
                .ok_or_else(|| Some(Full::Changed(relative(path))))?,
        };
        let mut list = String::new();
        let mut files: Vec<(&PathBuf, &File)> = self.files.iter().collect();
        files.sort_by_key(|(path, _)| *path);
        let thin = |hot: &HotFn| {
            !hot.dirty && !hot.shared && !hot.refs.iter().any(|name| reached.contains(name))
        };
        for (path, file) in &files {
            let lines: Vec<String> = file
                .hot
                .iter()
                .filter(|hot| thin(hot))
                .map(|hot| hot.line.to_string())
                .collect();
            if !lines.is_empty() {
                let _ = writeln!(list, "{}\t{}", path.display(), lines.join(","));
            }
        }
        let pruned = self.pruned(&files, thin);
        let pruned_something = pruned.as_ref().is_some_and(|pruned| {
            pruned
                .iter()
                .zip(&files)
                .any(|((_, text), (_, file))| *text != file.text)
        });
        if list.is_empty() && !pruned_something {
            return Err(None);
        }
        let reaches_hot = (self.files.values())
            .flat_map(|file| &file.hot)
            .any(|hot| hot.refs.iter().any(|name| reached.contains(name)));
        Ok(QuickBuild {
            thin: list,
            pruned,
            unreached: if reaches_hot { Vec::new() } else { edited },
        })
    }

    /// When the `changed` files differ from the live build's only in
    /// plain items (`parse::PlainItem`: functions that are not hot,
    /// constants, `use`s), the names whose code changed: those items (changed,
    /// added or removed), and the plain items that name one of them, over
    /// and over. The hot functions that name one are built; the others stay
    /// thin, calling the program's code, which calls what it called. `None`
    /// (a full build) when anything else changed, or when such a name is
    /// used where the hot functions' names do not show it: anywhere in the
    /// skeletons but a function's own declaration and a `use` without `as`
    /// (a trait impl's body, a type, a static, a macro). A name that only
    /// methods declare is used by a path only through their type, `Self`
    /// or an alias (`Vec::new` is not `Player::new`), by a method call
    /// always (`parse::Named::uses`). With them, the functions and
    /// constants changed or added, by name (`Player::heal`).
    fn reached(&self, changed: &[(&PathBuf, &File)]) -> Option<(HashSet<String>, Vec<String>)> {
        let mut names = Changed::default();
        let mut edited = Vec::new();
        for (path, file) in changed {
            let live = self.live.get(*path)?;
            if live.deep != file.deep {
                return None;
            }
            let keys: HashSet<&String> = file.plain.iter().map(|plain| &plain.key).collect();
            if keys.len() != file.plain.len() {
                return None; // one key under two `cfg`s
            }
            for plain in &file.plain {
                if live.plain.get(&plain.key).map(|live| &live.text) != Some(&plain.text) {
                    names.add(plain);
                    if plain.body.is_some()
                        && let Some(name) = plain.names.first()
                    {
                        edited.push(match &plain.owner {
                            Some(owner) => format!("{owner}::{name}"),
                            None => name.clone(),
                        });
                    }
                }
            }
            let removed = live.plain.values().filter(|live| !keys.contains(&live.key));
            removed.for_each(|live| names.add(live));
        }
        let aliases: HashSet<String> = self
            .files
            .values()
            .flat_map(|file| file.named.aliases.iter().cloned())
            .collect();
        let plain: Vec<&parse::PlainItem> =
            self.files.values().flat_map(|file| &file.plain).collect();
        loop {
            let before = names.names.len();
            for item in &plain {
                let uses = |name: &String| item.named.uses(name, names.owners(name), &aliases);
                if names.names.iter().any(uses) {
                    names.add(item);
                }
            }
            if names.names.len() == before {
                break;
            }
        }
        let hidden = self.files.values().any(|file| {
            names
                .names
                .iter()
                .any(|name| file.named.uses(name, names.owners(name), &aliases))
        });
        (!hidden).then_some((names.names, edited))
    }

    /// Every file, pruned for the functions that are not `thin` (see
    /// [`crate::build::quick::prune`]); `None` when not pruned.
    fn pruned(
        &self,
        files: &[(&PathBuf, &File)],
        thin: impl Fn(&HotFn) -> bool,
    ) -> Option<Vec<(PathBuf, String)>> {
        // Code the pruning does not read (an `include!`d file, a module
        // outside `src/`) could name anything: not pruned.
        let unread = files
            .iter()
            .any(|(_, file)| file.text.contains("include!(") || file.text.contains("#[path"));
        if !self.prune || unread {
            return None;
        }
        // A file read as text (`include_str!("example.rs")`) is copied as it is.
        let as_text = read_as_text(files);
        let roots: Vec<prune::Root> = files
            .iter()
            .enumerate()
            .flat_map(|(index, (_, file))| {
                file.hot
                    .iter()
                    .filter(|hot| !thin(hot))
                    .map(move |hot| prune::Root {
                        file: index,
                        at: hot.body.start,
                        refs: &hot.refs,
                    })
            })
            .collect();
        // The binaries' files name the library's items from outside.
        let items: Vec<&[prune::Item]> = files
            .iter()
            .map(|(path, file)| match self.of_binaries(path) {
                true => &[][..],
                false => &file.items[..],
            })
            .collect();
        let kept = prune::kept(&items, &roots);
        let pruned = files
            .iter()
            .zip(kept)
            .map(|((path, file), kept)| {
                let text = if as_text.contains(path) {
                    file.text.clone()
                } else {
                    prune::blank(&file.text, &file.items, &kept)
                };
                ((*path).clone(), text)
            })
            .collect();
        Some(pruned)
    }

    /// `path` is a binary's own (`src/main.rs`, `src/bin/`), not the
    /// library's.
    fn of_binaries(&self, path: &Path) -> bool {
        path.strip_prefix(&self.src)
            .is_ok_and(|path| path == Path::new("main.rs") || path.starts_with("bin"))
    }

    /// Takes the file's new text: an edit inside one hot body or one plain
    /// item's body moves what follows it (no parse); anything else is
    /// parsed again.
    fn update(&mut self, path: PathBuf, text: String) {
        let Some(file) = self.files.get_mut(&path) else {
            // A new file: full (the set of files changed).
            let file = parse(&text, &path).unwrap_or_else(|| File {
                text: String::new(),
                deep: String::new(),
                plain: Vec::new(),
                named: parse::Named::default(),
                hot: Vec::new(),
                items: Vec::new(),
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
        if edit_one_body(file, &text) || edit_one_plain(file, &text) {
            file.broken = false;
            return;
        }
        let Some(mut parsed) = parse(&text, &path) else {
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

    /// No more quick builds for this program: a thin function could not be
    /// linked (a path that more than one hot function has).
    pub fn disable(&mut self) {
        self.off = true;
    }

    /// No more pruned builds for this program: one failed where the full
    /// build of the same sources did not (a name the pruning could not
    /// see, such as one a macro pastes together).
    pub fn unprune(&mut self) {
        self.prune = false;
    }

    /// The build planned last went live (a build made stale by a later
    /// save never does): it is the base from now on.
    pub fn went_live(&mut self) {
        self.unknown = false;
        self.files.retain(|_, file| !file.gone);
        self.live = self
            .files
            .iter()
            .map(|(path, file)| (path.clone(), Live::of(file)))
            .collect();
        for file in self.files.values_mut() {
            for hot in &mut file.hot {
                hot.dirty = hot.has_items;
            }
        }
    }
}

/// The files that `include_str!` or `include_bytes!` read in `files`.
fn read_as_text<'a>(files: &[(&'a PathBuf, &File)]) -> Vec<&'a PathBuf> {
    let mut read = Vec::new();
    for (path, file) in files {
        for call in ["include_str!(\"", "include_bytes!(\""] {
            for (at, _) in file.text.match_indices(call) {
                let rest = &file.text[at + call.len()..];
                let Some(name) = rest.split('"').next() else {
                    continue;
                };
                let wanted = lexical(&path.parent().unwrap_or(Path::new("")).join(name));
                read.extend(files.iter().map(|(p, _)| *p).filter(|p| **p == wanted));
            }
        }
    }
    read
}

/// `path` with `.` and `..` resolved as written (no links followed).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
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
        quick_of(LIB)
    }

    /// A quick plan whose live build had `lib` as `src/lib.rs`.
    fn quick_of(lib: &str) -> Quick {
        let path = PathBuf::from("src/lib.rs");
        let file = parse(lib, &path).unwrap();
        Quick {
            src: PathBuf::from("src"),
            live: HashMap::from([(path.clone(), Live::of(&file))]),
            files: HashMap::from([(path, file)]),
            unknown: false,
            off: false,
            prune: true,
        }
    }

    /// The thin list of the next build, if it is quick.
    fn thin(quick: &Quick) -> Option<String> {
        quick.decide().ok().map(|plan| plan.thin)
    }

    /// The thin functions' lines after `edit`.
    fn thin_after(quick: &mut Quick, edit: (&str, &str)) -> Option<String> {
        let text = quick.files[&PathBuf::from("src/lib.rs")]
            .text
            .replace(edit.0, edit.1);
        quick.update(PathBuf::from("src/lib.rs"), text);
        thin(quick).map(|list| list.trim_end().split_once('\t').unwrap().1.to_string())
    }

    #[test]
    fn only_hot_bodies_changed_leaves_the_others_thin() {
        let mut quick = quick();
        assert_eq!(thin(&quick).as_deref(), Some("src/lib.rs\t3,5,9\n"));
        // `b`'s body: `a` and `c` are thin.
        assert_eq!(
            thin_after(&mut quick, ("{ 2 }", "{ 20 }")).as_deref(),
            Some("3,9")
        );
        // Two more lines in `a`'s body: `c` moved down, and `a` is dirty too.
        let lines = thin_after(&mut quick, ("{ K }", "{\n    K\n}"));
        assert_eq!(lines.as_deref(), Some("11"));
        // Once that build is live, all are thin again, where they are now.
        quick.went_live();
        assert_eq!(thin(&quick).as_deref(), Some("src/lib.rs\t3,7,11\n"));
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
        assert_eq!(thin(&quick), None);
        let text = LIB.replace("{ 2 }", "{ 20 }");
        quick.update(path, text);
        assert_eq!(thin(&quick).as_deref(), Some("src/lib.rs\t3,9\n"));
    }

    #[test]
    fn a_save_that_does_not_parse_is_full_and_its_edits_are_kept() {
        let mut quick = quick();
        // Two bodies edited, one left broken: full.
        let broken = LIB.replace("{ 2 }", "{ 20 }").replace("{ K }", "{ K + }");
        quick.update(PathBuf::from("src/lib.rs"), broken);
        assert_eq!(thin(&quick), None);
        // Fixed: both edited functions are built, `c` alone is thin.
        let fixed = LIB.replace("{ 2 }", "{ 20 }").replace("{ K }", "{ K + 1 }");
        quick.update(PathBuf::from("src/lib.rs"), fixed);
        assert_eq!(thin(&quick).as_deref(), Some("src/lib.rs\t9\n"));
    }

    #[test]
    fn a_body_that_declares_items_is_never_thin() {
        let lib = LIB.replace(
            "{ 2 }",
            "{ impl Default for S { fn default() -> S { S } } 2 }",
        );
        let mut quick = quick_of(&lib);
        quick.went_live();
        assert_eq!(thin(&quick).as_deref(), Some("src/lib.rs\t3,9\n"));
    }

    #[test]
    fn code_the_pruning_cannot_read_stops_it_and_a_file_read_as_text_is_copied_whole() {
        let text = |quick: &Quick, path: &str| {
            let plan = quick.decide().unwrap();
            let pruned = plan.pruned?;
            pruned
                .into_iter()
                .find(|(p, _)| p == Path::new(path))
                .map(|(_, text)| text)
        };
        let mut plain = quick();
        let shown = "const SHOWN: &str = include_str!(\"shown.rs\");\n";
        let with = |lib: &str| {
            let mut quick = quick();
            quick.update(PathBuf::from("src/lib.rs"), lib.to_string());
            quick.went_live();
            quick.update(
                PathBuf::from("src/shown.rs"),
                "fn unused() -> u32 { 7 }\n".to_string(),
            );
            quick.went_live();
            quick.update(PathBuf::from("src/lib.rs"), lib.replace("{ 2 }", "{ 20 }"));
            quick
        };
        // Without either, the helper constant is blanked.
        plain.update(PathBuf::from("src/lib.rs"), LIB.replace("{ 2 }", "{ 20 }"));
        assert!(!text(&plain, "src/lib.rs").unwrap().contains("const K"));
        let read = with(&format!("{shown}{LIB}"));
        assert_eq!(
            text(&read, "src/shown.rs").as_deref(),
            Some("fn unused() -> u32 { 7 }\n")
        );
        for unread in [
            "include!(\"more.rs\");\n",
            "#[path = \"../x.rs\"]\nmod x;\n",
        ] {
            let quick = with(&format!("{unread}{LIB}"));
            assert_eq!(text(&quick, "src/lib.rs"), None, "{unread}");
        }
    }

    #[test]
    fn a_full_build_says_why() {
        let mut quick = quick();
        let lib = PathBuf::from("src/lib.rs");
        quick.update(lib.clone(), LIB.replace("struct S;", "struct S(u8);"));
        assert_eq!(quick.decide().err(), Some(Some(Full::Changed(lib.clone()))));
        quick.update(lib.clone(), LIB.replace("{ 2 }", "{ 2 "));
        assert_eq!(quick.decide().err(), Some(Some(Full::Broken(lib))));
        quick.unknown = true;
        assert_eq!(
            quick
                .decide()
                .err()
                .flatten()
                .map(|why| why.to_string())
                .as_deref(),
            Some("the first build since start")
        );
    }

    #[test]
    fn anything_else_changed_is_a_full_build() {
        for edit in [
            ("fn b() -> u32", "fn b() -> u64"),
            // A constant's type, where a hot function's signature names it.
            ("fn b() -> u32", "fn b() -> [u8; K as usize]"),
            ("struct S;", "struct S(u8);"),
            // A `const fn` in a hot impl is not hot: its body counts.
            ("{ 4 }", "{ 40 }"),
            // A body closed early, and a new item after it (typed just
            // before the closing brace).
            ("{ 2 }", "{ 2 ;}\n\nstruct Helper;"),
        ] {
            assert_eq!(thin_after(&mut quick(), edit), None, "{edit:?}");
        }
    }

    const HELPERS: &str = "fn helper() -> u32 { 1 }\n\
                           fn twice() -> u32 { helper() * 2 }\n\
                           fn other() -> u32 { 5 }\n\
                           #[hot]\nfn a() -> u32 { helper() }\n\
                           #[hot]\nfn b() -> u32 { twice() }\n\
                           #[hot]\nfn c() -> u32 { other() }\n";

    #[test]
    fn a_plain_functions_body_builds_the_hot_functions_that_reach_it() {
        let mut quick = quick_of(HELPERS);
        // `a` names `helper`, `b` names `twice`, which names it: `c` alone
        // is thin.
        assert_eq!(
            thin_after(&mut quick, ("{ 1 }", "{ 10 }")).as_deref(),
            Some("9")
        );
        quick.went_live();
        assert_eq!(
            thin_after(&mut quick, ("{ 5 }", "{ 50 }")).as_deref(),
            Some("5,7")
        );
        // Its signature: the hot functions that name it are built against
        // the new one.
        quick.went_live();
        assert_eq!(
            thin_after(&mut quick, ("fn other() -> u32", "fn other() -> u64")).as_deref(),
            Some("5,7")
        );
    }

    #[test]
    fn a_plain_function_no_hot_function_reaches_is_named() {
        let lib = format!(
            "{HELPERS}pub struct Sim;\nimpl Sim {{\n    pub fn apply(&self) -> u32 {{ 7 }}\n}}\n\
             pub const LIMIT: u32 = 3;\n"
        );
        let mut quick = quick_of(&lib);
        let unreached = |quick: &mut Quick, edits: &[(&str, &str)]| {
            let mut text = quick.files[&PathBuf::from("src/lib.rs")].text.clone();
            for (from, to) in edits {
                text = text.replace(from, to);
            }
            quick.update(PathBuf::from("src/lib.rs"), text);
            let plan = quick.decide().expect("a quick build");
            quick.went_live();
            plan.unreached
        };
        assert_eq!(unreached(&mut quick, &[("{ 7 }", "{ 8 }")]), ["Sim::apply"]);
        assert_eq!(
            unreached(&mut quick, &[("{ 8 }", "{ 9 }"), ("= 3;", "= 4;")]),
            ["Sim::apply", "LIMIT"]
        );
        // One a hot function reaches: the hot function runs the new code.
        assert!(unreached(&mut quick, &[("{ 9 }", "{ 10 }"), ("{ 5 }", "{ 6 }")]).is_empty());
    }

    #[test]
    fn a_method_named_by_path_elsewhere_is_used_there_only_through_its_own_type() {
        const PLAYER: &str = "pub struct Player(u32);\n\
                              impl Player {\n    pub fn new() -> Player { Player(1) }\n}\n\
                              #[hot]\nfn spawn() -> Player { Player::new() }\n\
                              #[hot]\nfn other() -> u32 { 2 }\n";
        let edit = ("Player(1) }", "Player(10) }");
        // `Vec::new` in a trait impl, or in a plain function a trait impl
        // calls, is not `Player::new`: quick, `spawn` built, `other` thin.
        let elsewhere = format!(
            "{PLAYER}pub struct Score(Vec<u32>);\n\
             fn scores() -> Vec<u32> {{ Vec::new() }}\n\
             impl Default for Score {{\n    fn default() -> Self {{ Score(scores()) }}\n}}\n"
        );
        let mut quick = quick_of(&elsewhere);
        assert_eq!(thin_after(&mut quick, edit).as_deref(), Some("8"));
        // Named through its type, `Self`, an alias, or a method call (of
        // any type): a full build.
        for body in [
            "Player::new()",
            "{ let _ = Self::new(); Player(0) }",
            "Alias::new()",
            "Renamed::new()",
        ] {
            let lib = format!(
                "{PLAYER}type Alias = Player;\nuse self::Player as Renamed;\n\
                 impl Default for Player {{\n    fn default() -> Self {{ {body} }}\n}}\n"
            );
            let mut quick = quick_of(&lib);
            assert_eq!(thin_after(&mut quick, edit), None, "{body}");
        }
        let by_call = PLAYER.replace(
            "Player(1) }",
            "Player(1) }\n    pub fn hp(&self) -> u32 { self.0 }",
        ) + "impl std::fmt::Display for Player {\n    \
               fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, \"{}\", self.hp()) }\n}\n";
        let mut quick = quick_of(&by_call);
        assert_eq!(
            thin_after(&mut quick, ("{ self.0 }", "{ self.0 + 1 }")),
            None
        );
    }

    #[test]
    fn a_use_added_builds_the_hot_functions_that_name_what_it_brings_unless_it_is_a_glob() {
        let lib = format!("mod m {{\n    pub fn other() -> u32 {{ 6 }}\n}}\n{HELPERS}");
        // A name no hot function names: all thin (a line lower).
        let mut quick = quick_of(&lib);
        let import = thin_after(
            &mut quick,
            ("mod m {", "use std::collections::HashMap;\nmod m {"),
        );
        assert_eq!(import.as_deref(), Some("9,11,13"));
        // `other` is `m::other` now, which `c` names: `c` is built.
        quick.went_live();
        let shadowed = thin_after(
            &mut quick,
            ("fn other() -> u32 { 5 }\n", "use m::{other};\n"),
        );
        assert_eq!(shadowed.as_deref(), Some("9,11"));
        // A glob: a full build.
        quick.went_live();
        assert_eq!(
            thin_after(&mut quick, ("use m::{other};", "use m::*;")),
            None
        );
    }

    #[test]
    fn a_constant_or_a_function_added_or_removed_builds_the_hot_functions_that_name_it() {
        let lib = format!(
            "{HELPERS}const SPEED: u32 = 3;
fn fast() -> u32 {{ SPEED }}
"
        );
        let mut quick = quick_of(&lib);
        // `fast` names `SPEED`, no hot function names `fast`: all thin.
        assert_eq!(
            thin_after(&mut quick, ("= 3;", "= 4;")).as_deref(),
            Some("5,7,9")
        );
        // `c` names it now, and `fast` is gone.
        quick.went_live();
        let text = quick.files[&PathBuf::from("src/lib.rs")]
            .text
            .replace("{ other() }", "{ other() + SPEED }")
            .replace("fn fast() -> u32 { SPEED }\n", "");
        quick.update(PathBuf::from("src/lib.rs"), text);
        quick.went_live();
        assert_eq!(
            thin_after(&mut quick, ("= 4;", "= 5;")).as_deref(),
            Some("5,7")
        );
        // A function added and called from a hot body: only that one built.
        quick.went_live();
        let added = thin_after(
            &mut quick,
            (
                "{ twice() }",
                "{ twice() + added() }\nfn added() -> u32 { 1 }",
            ),
        );
        // (`c` is a line lower now.)
        assert_eq!(added.as_deref(), Some("5,10"));
        // A function removed that a hot one still names: that one is built
        // (and the build says what is missing).
        quick.went_live();
        let removed = thin_after(&mut quick, ("fn other() -> u32 { 5 }\n", ""));
        assert_eq!(removed.as_deref(), Some("4,6"));
        // An inherent impl's constant, named as `Self::LIMIT`.
        let lib = "struct S;\nimpl S {\n    const LIMIT: u32 = 1;\n}\n\
                   #[hot]\nimpl S {\n    fn a(&self) -> u32 { Self::LIMIT }\n    fn b(&self) -> u32 { 2 }\n}\n";
        let mut quick = quick_of(lib);
        assert_eq!(
            thin_after(&mut quick, ("= 1;", "= 10;")).as_deref(),
            Some("8")
        );
        // A constant that is part of a type (an array's length in a struct),
        // or named in a static: a full build.
        for lib in [
            format!("{HELPERS}const N: usize = 3;\nstruct Grid([u8; N]);\n"),
            format!("{HELPERS}const N: usize = 3;\nstatic ALL: usize = N;\n"),
        ] {
            let mut quick = quick_of(&lib);
            assert_eq!(thin_after(&mut quick, ("= 3;", "= 4;")), None, "{lib}");
        }
    }

    #[test]
    fn a_plain_function_used_where_names_do_not_show_it_is_a_full_build() {
        let in_a_trait_impl = format!(
            "{HELPERS}struct S;\nimpl std::fmt::Display for S {{\n    \
             fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {{ write!(f, \"{{}}\", helper()) }}\n}}\n"
        );
        let in_a_static = format!("{HELPERS}static N: fn() -> u32 = helper;\n");
        for lib in [in_a_trait_impl, in_a_static] {
            let mut quick = quick_of(&lib);
            assert_eq!(thin_after(&mut quick, ("{ 1 }", "{ 10 }")), None, "{lib}");
        }
        // Renamed by a `use`: the hot functions that name the new name are
        // built too (`d`); `c` alone is thin.
        let renamed = format!("{HELPERS}use self::helper as h;\n#[hot]\nfn d() -> u32 {{ h() }}\n");
        let mut quick = quick_of(&renamed);
        assert_eq!(
            thin_after(&mut quick, ("{ 1 }", "{ 10 }")).as_deref(),
            Some("9")
        );
        // Imported as it is, in braces: quick.
        let imported = format!(
            "mod m {{\n    pub fn inner() -> u32 {{ 7 }}\n}}\nuse m::{{inner}};\n\
             {HELPERS}#[hot]\nfn d() -> u32 {{ inner() }}\n"
        );
        let mut quick = quick_of(&imported);
        assert_eq!(
            thin_after(&mut quick, ("{ 7 }", "{ 70 }")).as_deref(),
            Some("9,11,13")
        );
        // A `const fn` can be part of a type: full.
        let constant = HELPERS.replace("fn other()", "const fn other()");
        let mut quick = quick_of(&constant);
        assert_eq!(thin_after(&mut quick, ("{ 5 }", "{ 50 }")), None);
    }
}
