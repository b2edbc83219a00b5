//! Stage 6, apply: points slots at verified new code, at the safe point
//! (`Reloader::update`), and back at older code when new code panics.
//!
//! Every copy of a hot function's slot — the host's and each loaded
//! generation's — is pointed at the same code, so a call that starts in old
//! code (a function pointer kept from an earlier generation) still reaches
//! the current version of every hot function it calls.
//!
//! Of one signature: a function whose signature changed (taken only for a
//! host that re-makes its callers, see `verify::host`) starts a new group
//! with the new build's slot, and the slots compiled against the old
//! signature keep the code they had. Functions only a new build has are
//! followed the same way, so that the next build's code of them reaches the
//! callers the host made from this one.

pub mod arm;
pub mod generations;

use std::collections::{HashMap, HashSet};

use crate::registry::{Entry, Slot};
use crate::verify::{Plan, host};

/// The code each hot function runs now, what it ran before, and every slot
/// that leads to it.
#[derive(Default)]
pub struct Applied {
    functions: HashMap<&'static str, Function>,
}

struct Function {
    /// The signature every slot and version here has.
    signature: &'static str,
    /// The host's slot first (the first build's that has the function, for
    /// one the program does not have, or one whose signature changed), then
    /// one per loaded generation.
    slots: Vec<&'static Slot>,
    /// Code the function has run, oldest (the program's own) first; the
    /// last is current.
    history: Vec<Version>,
    /// The source hash of code that panicked and was rolled back: a later
    /// build with the same code does not bring it back.
    panicked: Option<u64>,
}

/// What applying a new build does to one function.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Its source changed: it runs the new code.
    Changed,
    /// The same source: it runs the new build's copy of it.
    Same,
    /// The new build has the very code that panicked: it stays rolled back.
    KeptRolledBack,
}

#[derive(Clone, Copy)]
struct Version {
    /// Address of the implementation (a function pointer).
    implementation: usize,
    source_hash: u64,
}

impl Function {
    /// A function whose only code and slot are `entry`'s.
    fn of(entry: &'static Entry) -> Function {
        Function {
            signature: entry.signature,
            slots: vec![&entry.slot],
            history: vec![Version {
                implementation: entry.slot.original() as usize,
                source_hash: entry.source_hash,
            }],
            panicked: None,
        }
    }

    fn current(&self) -> Version {
        *self.history.last().expect("history starts non-empty")
    }

    fn point_slots_at(&self, version: Version) {
        for slot in &self.slots {
            // SAFETY: every version in the history was verified to have the
            // signature and argument layouts that every one of these slots
            // was compiled for, and its library is loaded: a build is
            // unloaded only after `forget` took its versions out of every
            // history (and its slots out of `slots`).
            unsafe { slot.set(version.implementation as *mut ()) };
        }
    }
}

impl Applied {
    /// Starts from the running program's own entries.
    pub fn new(entries: &'static [Entry]) -> Applied {
        let functions = entries
            .iter()
            .map(|entry| (entry.path, Function::of(entry)))
            .collect();
        Applied { functions }
    }

    /// What taking `new` does to its function (`None`: no code of it ran
    /// before).
    fn effect(&self, new: &Entry) -> Option<Effect> {
        let function = self.functions.get(new.path)?;
        Some(if function.signature != new.signature {
            Effect::Changed
        } else if function.panicked == Some(new.source_hash) {
            Effect::KeptRolledBack
        } else if function.current().source_hash != new.source_hash {
            Effect::Changed
        } else {
            Effect::Same
        })
    }

    /// The paths whose source `plan` changes, sorted.
    pub fn changes(&self, plan: &Plan) -> Vec<&'static str> {
        let mut changed: Vec<&'static str> = taken(plan)
            .filter(|new| self.effect(new) == Some(Effect::Changed))
            .map(|new| new.path)
            .collect();
        changed.sort_unstable();
        changed
    }

    /// Carries out `plan`; returns the paths whose source changed since the
    /// code they ran before, and those kept rolled back (the new build has
    /// the very code that panicked).
    pub fn apply(&mut self, plan: &Plan) -> (Vec<&'static str>, Vec<&'static str>) {
        let changed = self.changes(plan);
        let mut kept = Vec::new();
        for new in taken(plan) {
            let Some(effect) = self.effect(new) else {
                self.functions.insert(new.path, Function::of(new));
                continue;
            };
            let function = self.functions.get_mut(new.path).expect("effect found it");
            if function.signature != new.signature {
                // Its callers are re-made from this build (`verify::host`).
                *function = Function::of(new);
                continue;
            }
            // The new build's own copy of the slot is pointed at the
            // current code either way: its other functions call through it.
            function.slots.push(&new.slot);
            if effect == Effect::KeptRolledBack {
                function.point_slots_at(function.current());
                kept.push(new.path);
                continue;
            }
            function.panicked = None;
            let version = Version {
                implementation: new.slot.original() as usize,
                source_hash: new.source_hash,
            };
            function.history.push(version);
            function.point_slots_at(version);
        }
        kept.sort_unstable();
        (changed, kept)
    }

    /// The first slot of `path`'s group: the program's own, unless the
    /// program was not built with the function or its signature changed
    /// since (see [`arm::link_thin`]). Every slot of a group leads to the
    /// group's current code.
    pub fn first_slot(&self, path: &str) -> Option<&'static Slot> {
        self.functions.get(path).map(|function| function.slots[0])
    }

    /// Those of `paths` that are rolled back from code that panicked.
    pub fn rolled_back<'a>(&self, paths: impl Iterator<Item = &'a str>) -> Vec<&'static str> {
        let mut rolled_back: Vec<&'static str> = paths
            .filter_map(|path| self.functions.get_key_value(path))
            .filter(|(_, function)| function.panicked.is_some())
            .map(|(path, _)| *path)
            .collect();
        rolled_back.sort_unstable();
        rolled_back
    }

    /// How many functions run one of `implementations` now.
    pub fn current_in(&self, implementations: impl Iterator<Item = usize>) -> usize {
        let implementations: HashSet<usize> = implementations.collect();
        self.functions
            .values()
            .filter(|function| implementations.contains(&function.current().implementation))
            .count()
    }

    /// How many functions run the program's own code now.
    pub fn running_original(&self) -> usize {
        self.functions
            .values()
            .filter(|function| {
                function.current().implementation == function.history[0].implementation
            })
            .count()
    }

    /// Drops every trace of a build about to be unloaded: its copies of the
    /// slots (`entries`), and its code (`implementations`) from the
    /// functions' histories, so that no later apply or rollback touches it.
    pub fn forget(&mut self, implementations: impl Iterator<Item = usize>, entries: &[Entry]) {
        let implementations: HashSet<usize> = implementations.collect();
        let slots: HashSet<*const Slot> =
            entries.iter().map(|entry| &raw const entry.slot).collect();
        for function in self.functions.values_mut() {
            function
                .slots
                .retain(|slot| !slots.contains(&std::ptr::from_ref(*slot)));
            // The program's own code (first) is never unloaded.
            function
                .history
                .retain(|version| !implementations.contains(&version.implementation));
        }
        // A function only unloaded builds had (see `taken`).
        self.functions
            .retain(|_, function| !function.history.is_empty());
    }

    /// Takes back a build that went live (an operator's rollback of an
    /// upgrade): every function whose current code is one of
    /// `implementations` (the build's) runs the code it ran before it again.
    /// Functions that had no code before it keep it (only its own code
    /// calls them). Returns the paths taken back, sorted.
    pub fn revert(&mut self, implementations: &HashSet<usize>) -> Vec<&'static str> {
        let mut reverted = Vec::new();
        for (path, function) in &mut self.functions {
            if function.history.len() < 2
                || !implementations.contains(&function.current().implementation)
            {
                continue;
            }
            function.history.pop();
            function.panicked = None;
            function.point_slots_at(function.current());
            reverted.push(*path);
        }
        reverted.sort_unstable();
        reverted
    }

    /// After `implementation` of `path` panicked: if it is the current
    /// code, restores the code the function ran before it. Returns whether
    /// the function now runs other code than the one that panicked.
    pub fn roll_back(&mut self, path: &str, implementation: *const ()) -> bool {
        let Some(function) = self.functions.get_mut(path) else {
            return false;
        };
        let current = function.history.last().map(|v| v.implementation);
        if current != Some(implementation as usize) {
            // Already rolled back (another thread), or old code panicked.
            return true;
        }
        if function.history.len() < 2 {
            // No earlier code of its signature. A host that re-makes its
            // callers puts back the callers it had (`verify::host`): the
            // call returns at the panic, and later builds of this code are
            // not taken.
            if host::is_remade(path) {
                function.panicked = Some(function.current().source_hash);
                return true;
            }
            return false;
        }
        let panicked = function.history.pop().expect("checked above");
        function.panicked = Some(panicked.source_hash);
        let previous = *function.history.last().expect("checked above");
        function.point_slots_at(previous);
        true
    }
}

/// The new build's entries that `plan` takes: its swaps and the functions
/// only it has.
fn taken(plan: &Plan) -> impl Iterator<Item = &'static Entry> + '_ {
    plan.swaps
        .iter()
        .map(|(_, new)| *new)
        .chain(plan.added.iter().copied())
}
