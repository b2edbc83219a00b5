//! The statics and thread-locals a staged build has instances of its own
//! of, read from its symbol table.
//!
//! The package's own crate (and its path dependencies) is compiled into
//! each build, so a plain `static` or `thread_local!` that new code uses is
//! a new instance, started from its initial value: a counter starts again
//! at 0, a `OnceLock` is empty, while the program's code goes on with the
//! program's (see the README's *Statics*). Nothing in the build says so,
//! and the program just sees its state "lost" after a reload: the trap of
//! Python's `importlib.reload`. So each build's writable statics are
//! listed (`.data` and `.bss`: one without interior mutability is
//! read-only, `.rodata` or `.data.rel.ro`, and a fresh copy of it is the
//! same value) with its thread-locals, and the reload says once which
//! ones new code does not share with the program.
//!
//! Left out: what `#[hot]` makes (`__HOTRELOAD_*`, the `hotreload_*`
//! sections, a `#[hot] static`, which is the program's), and names starting
//! with `__`, which macros write for their own bookkeeping (`tracing`'s
//! callsites); the loaded build keeps only those of its own crate
//! (`Loaded::own_statics`).

use std::collections::{BTreeSet, HashSet};

use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};

use crate::report::OwnStatic;

/// The statics and thread-locals the build in `library` (its bytes) has
/// instances of its own of, sorted; none if it cannot be read.
pub fn own_statics(library: &[u8]) -> Vec<OwnStatic> {
    let Ok(file) = object::File::parse(library) else {
        return Vec::new();
    };
    let defined: Vec<(String, SymbolKind)> = file
        .symbols()
        .filter(|symbol| !symbol.is_undefined())
        .filter(|symbol| matches!(symbol.kind(), SymbolKind::Data | SymbolKind::Tls))
        .filter(|symbol| {
            symbol
                .section_index()
                .and_then(|index| file.section_by_index(index).ok())
                .is_some_and(|section| holds_state(&section))
        })
        .filter_map(|symbol| Some((demangled(symbol.name().ok()?)?, symbol.kind())))
        .collect();
    let names: HashSet<&str> = defined.iter().map(|(path, _)| path.as_str()).collect();
    let mut found = BTreeSet::new();
    for (path, kind) in &defined {
        let thread_local = *kind == SymbolKind::Tls;
        if let Some(path) = item_path(path, thread_local)
            && !made_by_us(&path, &names)
        {
            found.insert(OwnStatic { path, thread_local });
        }
    }
    found.into_iter().collect()
}

/// Whether a symbol in `section` can hold state a program changes:
/// writable data that stays writable, or a thread-local.
fn holds_state(section: &object::Section<'_, '_>) -> bool {
    let name = section.name().unwrap_or("");
    match section.kind() {
        SectionKind::Tls | SectionKind::UninitializedTls => true,
        SectionKind::Data | SectionKind::UninitializedData => {
            !name.starts_with(".data.rel.ro") && !name.starts_with("hotreload_")
        }
        _ => false,
    }
}

/// A Rust symbol's path, without its hash; `None` for other names.
fn demangled(name: &str) -> Option<String> {
    let demangled = rustc_demangle::try_demangle(name).ok()?;
    Some(format!("{demangled:#}"))
}

/// The path of the item a symbol belongs to: a thread-local's is where
/// `thread_local!` declared it (`game::LOCAL::{{constant}}::{{closure}}::VAL`
/// is `game::LOCAL`), a static's is its own without the closures and
/// constants it is inside, a hot function's body named as the function
/// (`game::__hotreload_impl_step::ONCE` is `game::step::ONCE`). `None` for
/// a name a macro wrote for itself, in a path with a segment starting with
/// `__` (`game::step::__CALLSITE::META`).
fn item_path(symbol: &str, thread_local: bool) -> Option<String> {
    let segments: Vec<&str> = (symbol.split("::"))
        .map(|segment| segment.strip_prefix("__hotreload_impl_").unwrap_or(segment))
        .collect();
    let path: Vec<&str> = if thread_local {
        segments
            .iter()
            .take_while(|segment| !segment.starts_with('{'))
            .copied()
            .collect()
    } else {
        segments
            .iter()
            .filter(|segment| !segment.starts_with('{'))
            .copied()
            .collect()
    };
    let ours = path.iter().all(|segment| !segment.starts_with("__"));
    (path.len() > 1 && ours).then(|| path.join("::"))
}

/// Whether `path` is a `#[hot] static` (its `__HOTRELOAD_OWN_<NAME>`
/// beside it).
fn made_by_us(path: &str, names: &HashSet<&str>) -> bool {
    let (parent, name) = path.rsplit_once("::").unwrap_or(("", path));
    names.contains(format!("{parent}::__HOTRELOAD_OWN_{}", name.to_uppercase()).as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_is_named_by_its_own_path() {
        let thread_local = "game::LOCAL::{{constant}}::{{closure}}::__RUST_STD_INTERNAL_VAL";
        assert_eq!(
            item_path(thread_local, true).as_deref(),
            Some("game::LOCAL")
        );
        assert_eq!(
            item_path("game::step::{{closure}}::ONCE", false).as_deref(),
            Some("game::step::ONCE")
        );
        assert_eq!(
            item_path("game::FRAMES", false).as_deref(),
            Some("game::FRAMES")
        );
        assert_eq!(
            item_path("game::World::__hotreload_impl_step::ONCE", false).as_deref(),
            Some("game::World::step::ONCE")
        );
        // A macro's own.
        assert_eq!(item_path("game::step::__CALLSITE", false), None);
        assert_eq!(item_path("game::step::__CALLSITE::META", false), None);
        assert_eq!(item_path("game::__HOTRELOAD_ENTRY_STEP", false), None);
    }

    #[test]
    fn what_hot_makes_is_left_out() {
        let names: HashSet<&str> = ["game::__HOTRELOAD_OWN_HITS", "game::HITS"].into();
        assert!(made_by_us("game::HITS", &names));
        assert!(!made_by_us("game::FRAMES", &names));
    }
}
