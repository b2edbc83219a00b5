//! What a host that re-makes the callers of hot functions (the Bevy plugin,
//! `hotreload-bevy`) tells verify and apply, through
//! [`crate::Reloader::callers_remade`] and [`crate::Reloader::hold_types`].
//!
//! A changed signature is refused (HOT010) because the program's code was
//! compiled to call the old one: it would go on calling the old code, or,
//! were the slot pointed at the new code, call it with the wrong
//! arguments. A host that, after every reload, throws away its callers and
//! makes new ones from the new build (a Bevy system is made from the new
//! build's registration function) has no such callers: for the functions
//! it names, a new signature is taken. Apply keeps one group of slots per
//! signature, so no slot ever holds code of another signature: the
//! program's own callers, and every build's copy compiled against the old
//! signature, keep the code they had.
//!
//! Types the program holds where no hot signature shows them (a Bevy
//! world's components and resources live in the world, which systems reach
//! through `Query<&Position>`, whose layout does not depend on `Position`)
//! are named by the host too: a build that changes one's definition is
//! refused (HOT011), naming it.
//!
//! Process-wide, like the slots they are about.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

static REMADE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
static HELD: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn add(set: &Mutex<BTreeSet<String>>, names: impl IntoIterator<Item = String>) {
    set.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend(names);
}

/// Adds hot functions (paths, as `crate::module::name`) whose callers the
/// host re-makes.
pub fn add_remade(paths: impl IntoIterator<Item = String>) {
    add(&REMADE, paths);
}

/// Whether the host re-makes the callers of `path`.
pub fn is_remade(path: &str) -> bool {
    REMADE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(path)
}

/// Adds types the program holds (names: the last segment of the path,
/// without generics, as the source reader knows them).
pub fn add_held(types: impl IntoIterator<Item = String>) {
    add(&HELD, types);
}

/// The types the program holds.
pub fn held() -> Vec<String> {
    HELD.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .cloned()
        .collect()
}
