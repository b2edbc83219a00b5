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
//! does not count). At start it is the program's own sources, unless a
//! file changed after the executable was built: then the first build is a
//! full one.
//!
//! The list is the build's `HOTRELOAD_THIN` environment variable: per
//! file, the lines of the thin functions' names (the macro finds itself by
//! the span of its name).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quote::ToTokens;
use syn::visit_mut::VisitMut;

use crate::types::Snapshot;

/// One file as the thin decision needs it.
#[derive(Clone, PartialEq, Eq)]
struct Parsed {
    /// The file's tokens with the hot functions' bodies left out.
    skeleton: String,
    /// Each hot function: its key (module path in the file, impl, name),
    /// the line of its name, its body's tokens.
    hot: Vec<(String, usize, String)>,
}

/// The package's files as the live build saw them, and as now.
pub struct Quick {
    src: PathBuf,
    /// `None` when the program's sources are not known (a file changed
    /// after the executable was built): the next build is a full one.
    live: Option<HashMap<PathBuf, Parsed>>,
    /// As the build in flight sees them.
    planned: Option<HashMap<PathBuf, Parsed>>,
    /// Parsed texts, by file, with the text they came from.
    cache: HashMap<PathBuf, (String, Option<Parsed>)>,
}

impl Quick {
    /// Starts from the program's sources.
    pub fn new(snapshot: &Snapshot) -> Quick {
        let mut quick = Quick {
            src: snapshot.src().to_path_buf(),
            live: None,
            planned: None,
            cache: HashMap::new(),
        };
        let mut live = HashMap::new();
        let mut known = true;
        for (file, text, newer) in snapshot.files() {
            known &= !newer;
            match quick.parse(file, text) {
                Some(parsed) => {
                    live.insert(file.to_path_buf(), parsed);
                }
                None => known = false,
            }
        }
        quick.live = known.then_some(live);
        quick
    }

    /// Decides the next build from the files as they are now: the list of
    /// thin functions for `HOTRELOAD_THIN` (one line per file: the file,
    /// a tab, the lines of their names joined by commas), or `None` for a
    /// full build.
    pub fn plan(&mut self) -> Option<String> {
        self.planned = None;
        let mut files = Vec::new();
        crate::types::rust_files(&self.src, &mut files);
        let mut now = HashMap::new();
        for file in files {
            let text = std::fs::read_to_string(&file).ok()?;
            let parsed = self.parse(&file, &text)?;
            now.insert(file, parsed);
        }
        let thin = self.thin(&now);
        self.planned = Some(now);
        let thin = thin.filter(|thin| !thin.is_empty())?;
        let mut by_file: BTreeMap<&Path, Vec<String>> = BTreeMap::new();
        for (line, file) in &thin {
            by_file.entry(file).or_default().push(line.to_string());
        }
        let mut list = String::new();
        for (file, lines) in by_file {
            let _ = writeln!(list, "{}\t{}", file.display(), lines.join(","));
        }
        Some(list)
    }

    /// The thin functions of a build of `now`, or `None` for a full one.
    fn thin(&self, now: &HashMap<PathBuf, Parsed>) -> Option<Vec<(usize, PathBuf)>> {
        let live = self.live.as_ref()?;
        if live.len() != now.len() {
            return None;
        }
        let mut thin = Vec::new();
        for (file, parsed) in now {
            let before = live.get(file)?;
            if before.skeleton != parsed.skeleton {
                return None;
            }
            for (key, line, body) in &parsed.hot {
                let same = before
                    .hot
                    .iter()
                    .filter(|(k, _, _)| k == key)
                    .collect::<Vec<_>>();
                // A key twice (same name in two `cfg`s): full, both.
                if let [(_, _, old_body)] = same.as_slice()
                    && old_body == body
                    && parsed.hot.iter().filter(|(k, _, _)| k == key).count() == 1
                {
                    thin.push((*line, file.clone()));
                }
            }
        }
        thin.sort_unstable();
        Some(thin)
    }

    /// The base is not known any more: the next build is a full one.
    pub fn forget(&mut self) {
        self.live = None;
    }

    /// The build planned last went live: it is the base from now on.
    pub fn went_live(&mut self) {
        if let Some(planned) = self.planned.take() {
            self.live = Some(planned);
        }
    }

    fn parse(&mut self, file: &Path, text: &str) -> Option<Parsed> {
        if let Some((cached, parsed)) = self.cache.get(file)
            && cached == text
        {
            return parsed.clone();
        }
        let parsed = parse(text);
        self.cache
            .insert(file.to_path_buf(), (text.to_string(), parsed.clone()));
        parsed
    }
}

fn parse(text: &str) -> Option<Parsed> {
    let mut file = syn::parse_file(text).ok()?;
    let mut hollow = Hollow {
        module: Vec::new(),
        hot: Vec::new(),
    };
    hollow.visit_file_mut(&mut file);
    Some(Parsed {
        skeleton: file.to_token_stream().to_string(),
        hot: hollow.hot,
    })
}

/// Empties the bodies of hot functions, noting them.
struct Hollow {
    module: Vec<String>,
    hot: Vec<(String, usize, String)>,
}

fn is_hot(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "hot")
    })
}

/// What `#[hot]` makes hot in an impl block (the macros' `valid::can_be_hot`):
/// not a `const fn`, no type or const parameters.
fn can_be_hot(sig: &syn::Signature) -> bool {
    sig.constness.is_none()
        && sig
            .generics
            .params
            .iter()
            .all(|param| matches!(param, syn::GenericParam::Lifetime(_)))
}

impl Hollow {
    fn take(&mut self, owner: &str, sig: &syn::Signature, block: &mut syn::Block) {
        let key = format!("{}::{owner}{}", self.module.join("::"), sig.ident);
        let body = block.to_token_stream().to_string();
        self.hot.push((key, sig.ident.span().start().line, body));
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
                && can_be_hot(&method.sig)
            {
                self.take(&owner, &method.sig, &mut method.block);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(live: &str) -> Quick {
        let mut quick = Quick {
            src: PathBuf::from("src"),
            live: None,
            planned: None,
            cache: HashMap::new(),
        };
        quick.live = Some(HashMap::from([(
            PathBuf::from("src/lib.rs"),
            parse(live).unwrap(),
        )]));
        quick
    }

    fn thin(live: &str, now: &str) -> Option<Vec<usize>> {
        let now = HashMap::from([(PathBuf::from("src/lib.rs"), parse(now).unwrap())]);
        quick(live)
            .thin(&now)
            .map(|thin| thin.into_iter().map(|(line, _)| line).collect())
    }

    const LIB: &str = "const K: u32 = 1;\n\
                       #[hot]\nfn a() -> u32 { K }\n\
                       #[hot]\nfn b() -> u32 { 2 }\n\
                       struct S;\n\
                       #[hot]\nimpl S {\n    fn c(&self) -> u32 { 3 }\n    const fn d() -> u32 { 4 }\n}\n";

    #[test]
    fn only_hot_bodies_changed_leaves_the_others_thin() {
        // `b`'s body changed: `a` (line 3) and `c` (line 9) are thin.
        assert_eq!(thin(LIB, &LIB.replace("{ 2 }", "{ 20 }")), Some(vec![3, 9]));
        // Nothing changed: all three.
        assert_eq!(thin(LIB, LIB), Some(vec![3, 5, 9]));
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
            assert_eq!(thin(LIB, &LIB.replace(edit.0, edit.1)), None, "{edit:?}");
        }
    }
}
