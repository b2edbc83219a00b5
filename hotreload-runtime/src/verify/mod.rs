//! Stage 5, verify: decides whether a loaded build may replace the running
//! code. Nothing is swapped here; the result is a [`Plan`] that `apply`
//! carries out at the next safe point, or an error that names every
//! function that cannot be swapped. A generation is all or nothing.

pub mod host;
pub mod types;

use std::collections::HashMap;

use crate::error::{Error, Refusal};
use crate::registry::{Entry, Manifest};
use crate::state::StaticEntry;
use crate::verify::types::Changes;

/// What a verified generation will change.
pub struct Plan {
    /// `(running entry, new entry)` for every hot function of the package.
    pub swaps: Vec<(&'static Entry, &'static Entry)>,
    /// Hot functions of the running program that the new build no longer
    /// has: they keep their current code.
    pub missing: Vec<&'static str>,
    /// Hot functions a quick build left out (they are as they were): set
    /// by the reloader, which knows the build was quick.
    pub left_out: Vec<&'static str>,
    /// Hot functions that only the new build has: the program's code does
    /// not call them (a restart picks them up); the new build's code does.
    pub added: Vec<&'static Entry>,
    /// Paths that more than one hot function has (functions of the same
    /// name declared inside other functions): which is which cannot be
    /// told, so they keep the code they were built with.
    pub ambiguous: Vec<&'static str>,
    /// `(program's, new build's)` for every hot static of the package both
    /// have: the new build is pointed at the program's instance.
    pub statics: Vec<(&'static StaticEntry, &'static StaticEntry)>,
}

/// Checks `new` (a build of `package`) against the running program.
/// `types` are the package's type definitions that differ from the
/// program's (see [`crate::verify::types`]).
pub fn verify(
    package: &str,
    running: &Manifest,
    new: &Manifest,
    types: &Changes,
) -> Result<Plan, Error> {
    same_settings(package, running, new)?;
    // A package's build also links the hot functions of the packages it
    // depends on (their old code); only its own are taken.
    let ours = |entries: &'static [Entry]| entries.iter().filter(|entry| entry.package == package);
    same_identity(package, ours(running.entries), ours(new.entries))?;
    let mut ambiguous: Vec<&'static str> = duplicates(ours(running.entries))
        .chain(duplicates(ours(new.entries)))
        .collect();
    ambiguous.sort_unstable();
    ambiguous.dedup();
    let new_entries: HashMap<&str, &'static Entry> =
        ours(new.entries).map(|entry| (entry.path, entry)).collect();
    let mut plan = Plan {
        swaps: Vec::new(),
        missing: Vec::new(),
        left_out: Vec::new(),
        added: Vec::new(),
        ambiguous: Vec::new(),
        statics: Vec::new(),
    };
    let mut refusals = Vec::new();
    for old in ours(running.entries).filter(|old| !ambiguous.contains(&old.path)) {
        match new_entries.get(old.path) {
            Some(&new) => match refusal(old, new, types) {
                Some(refusal) => refusals.push(refusal),
                None => plan.swaps.push((old, new)),
            },
            // Left to the program's code by a quick build: unchanged.
            None if new.thin.iter().any(|thin| thin.path == old.path) => {}
            None => plan.missing.push(old.path),
        }
    }
    for new_static in new.statics.iter().filter(|s| s.package == package) {
        // A new one keeps its own instance until a restart.
        let Some(old) = running
            .statics
            .iter()
            .find(|old| old.path == new_static.path)
        else {
            continue;
        };
        match static_refusal(old, new_static, types) {
            Some(refusal) => refusals.push(refusal),
            None => plan.statics.push((old, new_static)),
        }
    }
    refusals.extend(
        host::held()
            .iter()
            .filter_map(|name| held_refusal(name, types)),
    );
    if !refusals.is_empty() {
        return Err(Error::Refused(refusals));
    }
    let known: Vec<&str> = running.entries.iter().map(|entry| entry.path).collect();
    plan.added = new_entries
        .values()
        .filter(|new| !known.contains(&new.path) && !ambiguous.contains(&new.path))
        .copied()
        .collect();
    plan.added.sort_unstable_by_key(|new| new.path);
    plan.ambiguous = ambiguous;
    Ok(plan)
}

/// The runtime version, compiler, target and profile (HOT030).
fn same_settings(package: &str, running: &Manifest, new: &Manifest) -> Result<(), Error> {
    let mismatch = |what, old: &str, new: &str| Error::BuildMismatch {
        package: package.to_string(),
        what,
        old: old.to_string(),
        new: new.to_string(),
    };
    if running.runtime_version != new.runtime_version {
        return Err(mismatch(
            "hotreload-runtime version",
            running.runtime_version,
            new.runtime_version,
        ));
    }
    if running.rustc != new.rustc {
        return Err(mismatch("compiler", running.rustc, new.rustc));
    }
    if running.target != new.target {
        return Err(mismatch("target", running.target, new.target));
    }
    if running.debug_assertions != new.debug_assertions {
        let profile = |debug| {
            if debug {
                "debug assertions on"
            } else {
                "debug assertions off"
            }
        };
        return Err(mismatch(
            "profile",
            profile(running.debug_assertions),
            profile(new.debug_assertions),
        ));
    }
    Ok(())
}

/// One check for the build: the crate's identity (HOT015). It is the
/// `TypeId` of a type declared in each entry's expansion, the same in
/// every entry: compared for one function both builds have (a quick build
/// has entries only for the functions it compiled).
fn same_identity(
    package: &str,
    running: impl Iterator<Item = &'static Entry> + Clone,
    mut new: impl Iterator<Item = &'static Entry>,
) -> Result<(), Error> {
    let differs = new.find_map(|new| {
        running
            .clone()
            .find(|old| old.path == new.path)
            .map(|old| old.layouts().identity_hash() != new.layouts().identity_hash())
    });
    if differs != Some(true) {
        return Ok(());
    }
    Err(Error::Refused(vec![Refusal {
        code: "HOT015",
        function: package.to_string(),
        message: "the new build's crate identity differs from the program's, so its types \
                  would have other `TypeId`s than the program's (a component spawned by new \
                  code would be another component). The program was built with other \
                  features or flags than the hot build: build it with the package's default \
                  features (see the README, HOT015), or restart"
            .to_string(),
    }]))
}

/// Why `new` cannot replace `old` (HOT010, HOT011), if it cannot.
fn refusal(old: &Entry, new: &Entry, types: &Changes) -> Option<Refusal> {
    let refusal = |code, message| {
        Some(Refusal {
            code,
            function: old.path.to_string(),
            message,
        })
    };
    if old.signature != new.signature && host::is_remade(old.path) {
        // Its callers are made anew from this build (see `host`); what
        // the new signature reaches must still be as the program has it.
        let changed = types.reached_from(new.signature)?;
        return refusal(
            "HOT011",
            format!(
                "a type its new signature reaches changed: {changed}. The running program \
                 holds its data in the old definition: undo the change, or restart the program"
            ),
        );
    }
    if old.signature != new.signature {
        return refusal(
            "HOT010",
            format!(
                "signature changed from `{}` to `{}`. Callers in the running program were \
                 compiled against the old one: undo the change, or restart the program",
                old.signature, new.signature
            ),
        );
    }
    if let Some(changed) = changed_layouts(old, new) {
        return refusal(
            "HOT011",
            format!(
                "the layout of {changed} changed (a field added, removed, reordered, renamed or \
                 retyped, or its size or alignment). The running program holds its data in the \
                 old layout: undo the change to the type, or restart the program (migrate state \
                 with serde if it must survive)"
            ),
        );
    }
    let changed = types.reached_from(old.signature)?;
    refusal(
        "HOT011",
        format!(
            "a type its signature reaches changed: {changed}. The running program holds its \
             data in the old definition: undo the change, or restart the program"
        ),
    )
}

/// Why a build that changed the definition of `name`, a type the host
/// holds (see `host`), cannot be taken (HOT011), if it cannot.
fn held_refusal(name: &str, types: &Changes) -> Option<Refusal> {
    let changed = types.reached_from(name)?;
    Some(Refusal {
        code: "HOT011",
        function: name.to_string(),
        message: format!(
            "a type the program holds changed: {changed}. The program keeps values of `{name}` \
             (a component or resource in its world) in the old definition: undo the change, \
             or restart the program"
        ),
    })
}

/// Why the new build's hot static cannot be pointed at the program's
/// instance (HOT014), if it cannot.
fn static_refusal(old: &StaticEntry, new: &StaticEntry, types: &Changes) -> Option<Refusal> {
    if old.layouts() == new.layouts() && types.reached_from(old.type_name).is_none() {
        return None;
    }
    Some(Refusal {
        code: "HOT014",
        function: old.path.to_string(),
        message: format!(
            "the type of this hot static changed from `{}` to `{}` (or its layout). The \
             program's instance has the old one: undo the change, or restart the program",
            old.type_name, new.type_name
        ),
    })
}

/// The paths more than one of `entries` has.
fn duplicates(entries: impl Iterator<Item = &'static Entry>) -> impl Iterator<Item = &'static str> {
    let mut seen = std::collections::HashSet::new();
    entries.filter_map(move |entry| (!seen.insert(entry.path)).then_some(entry.path))
}

/// The types of `old`'s signature whose layout differs in `new`, as
/// "`A` and `B`", or `None` when all agree.
fn changed_layouts(old: &Entry, new: &Entry) -> Option<String> {
    let (old, new) = (old.layouts(), new.layouts());
    if old == new {
        return None;
    }
    let mut names: Vec<String> = old
        .0
        .iter()
        .zip(&new.0)
        .filter(|(old, new)| old.1 != new.1)
        .map(|((label, _), _)| format!("`{label}`"))
        .collect();
    names.dedup();
    Some(if names.is_empty() {
        "a type in the signature".to_string()
    } else {
        names.join(" and ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::TypeLayouts;
    use crate::panic::HostHooks;
    use hotreload_core::host_link::HostLink;
    static HOOKS: HostLink<HostHooks> = HostLink::new();

    fn no_types(_: &mut TypeLayouts) {}

    static STEP: [Entry; 1] = [Entry::new(
        std::ptr::null_mut(),
        "demo::step",
        "fn()",
        no_types,
        1,
        "demo",
        "/demo",
    )];

    static TWICE: [Entry; 2] = [
        Entry::new(
            std::ptr::null_mut(),
            "demo::inner",
            "fn()",
            no_types,
            1,
            "demo",
            "/demo",
        ),
        Entry::new(
            std::ptr::null_mut(),
            "demo::inner",
            "fn(u32)",
            no_types,
            2,
            "demo",
            "/demo",
        ),
    ];

    #[test]
    fn functions_sharing_a_path_keep_their_code() {
        let running = Manifest {
            entries: &TWICE,
            host_hooks: &HOOKS,
            ..Manifest::current()
        };
        let plan = verify("demo", &running, &running, &Changes::none()).unwrap();
        assert!(plan.swaps.is_empty(), "neither is swapped for the other");
        assert_eq!(plan.ambiguous, ["demo::inner"]);
        assert!(plan.added.is_empty() && plan.missing.is_empty());
    }

    static OWN: u32 = 0;
    static COUNT: crate::state::HotStatic<u32> = crate::state::HotStatic::new(&OWN);
    fn as_u32(types: &mut TypeLayouts) {
        types.add("u32", "", crate::layout::LayoutHasher::shape::<u32>);
    }
    fn as_i32(types: &mut TypeLayouts) {
        types.add("i32", "", crate::layout::LayoutHasher::shape::<i32>);
    }
    static OLD_STATICS: [StaticEntry; 1] = [StaticEntry::new(
        &COUNT,
        "demo::COUNT",
        "u32",
        as_u32,
        "demo",
    )];
    static NEW_STATICS: [StaticEntry; 1] = [StaticEntry::new(
        &COUNT,
        "demo::COUNT",
        "i32",
        as_i32,
        "demo",
    )];

    #[test]
    fn a_hot_static_of_another_type_is_refused_and_one_of_the_same_is_connected() {
        let running = Manifest {
            statics: &OLD_STATICS,
            ..manifest("rustc", "target")
        };
        let plan = verify("demo", &running, &running, &Changes::none()).unwrap();
        assert_eq!(plan.statics.len(), 1);
        let changed = Manifest {
            statics: &NEW_STATICS,
            ..manifest("rustc", "target")
        };
        let error = verify("demo", &running, &changed, &Changes::none())
            .err()
            .unwrap();
        assert_eq!(error.code(), "HOT014", "{error}");
        assert!(error.to_string().contains("from `u32` to `i32`"), "{error}");
    }

    fn manifest(rustc: &'static str, target: &'static str) -> Manifest {
        Manifest {
            rustc,
            target,
            entries: &STEP,
            host_hooks: &HOOKS,
            ..Manifest::current()
        }
    }

    struct Ours;
    struct Theirs;
    fn ours(types: &mut TypeLayouts) {
        types.identity::<Ours>();
    }
    fn theirs(types: &mut TypeLayouts) {
        types.identity::<Theirs>();
    }
    static PROGRAM: [Entry; 1] = [Entry::new(
        std::ptr::null_mut(),
        "demo::step",
        "fn()",
        ours,
        1,
        "demo",
        "/demo",
    )];
    static OTHER: [Entry; 1] = [Entry::new(
        std::ptr::null_mut(),
        "demo::step",
        "fn()",
        theirs,
        1,
        "demo",
        "/demo",
    )];

    #[test]
    fn a_build_with_another_crate_identity_is_refused_once() {
        let running = Manifest {
            entries: &PROGRAM,
            ..manifest("rustc", "target")
        };
        assert_eq!(
            verify("demo", &running, &running, &Changes::none())
                .unwrap()
                .swaps
                .len(),
            1
        );
        let other = Manifest {
            entries: &OTHER,
            ..manifest("rustc", "target")
        };
        let error = verify("demo", &running, &other, &Changes::none())
            .err()
            .unwrap();
        assert_eq!(error.code(), "HOT015", "{error}");
        assert!(error.to_string().contains("`TypeId`s"), "{error}");
    }

    #[test]
    fn another_compiler_or_target_is_refused_by_name() {
        let running = manifest("rustc 1.95.0", "x86_64-unknown-linux-gnu");
        let error = verify(
            "demo",
            &running,
            &manifest("rustc 1.96.0", "x86_64-unknown-linux-gnu"),
            &Changes::none(),
        )
        .err()
        .unwrap();
        assert_eq!(error.code(), "HOT030");
        let text = error.to_string();
        assert!(
            text.contains("compiler") && text.contains("rustc 1.95.0") && text.contains("1.96.0"),
            "{text}"
        );
        let error = verify(
            "demo",
            &running,
            &manifest("rustc 1.95.0", "aarch64-unknown-linux-gnu"),
            &Changes::none(),
        )
        .err()
        .unwrap();
        assert!(error.to_string().contains("different target"), "{error}");
        let plan = verify("demo", &running, &running, &Changes::none()).unwrap();
        assert_eq!(plan.swaps.len(), 1);
    }
}
