//! Stage 6, apply: points slots at verified new code, at the safe point
//! (`Reloader::update`).
//!
//! Every copy of a hot function's slot — the host's and each loaded
//! generation's — is pointed at the newest code, so a call that starts in
//! old code (a function pointer kept from an earlier generation) still
//! reaches the newest version of every hot function it calls.

use std::collections::HashMap;

use crate::registry::{Entry, Slot};
use crate::verify::Plan;

/// The code each hot function runs now, and every slot that leads to it.
#[derive(Default)]
pub struct Applied {
    functions: HashMap<&'static str, Function>,
}

struct Function {
    /// The host's slot first, then one per loaded generation.
    slots: Vec<&'static Slot>,
    /// Source hash of the code the slots point at.
    source_hash: u64,
}

impl Applied {
    /// Starts from the running program's own entries.
    pub fn new(entries: &'static [Entry]) -> Applied {
        let functions = entries
            .iter()
            .map(|entry| {
                let function = Function {
                    slots: vec![entry.slot],
                    source_hash: entry.source_hash,
                };
                (entry.path, function)
            })
            .collect();
        Applied { functions }
    }

    /// Carries out `plan`; returns the paths whose source changed since the
    /// code they ran before.
    pub fn apply(&mut self, plan: &Plan) -> Vec<&'static str> {
        let mut changed = Vec::new();
        for (old, new) in &plan.swaps {
            let Some(function) = self.functions.get_mut(old.path) else {
                continue;
            };
            function.slots.push(new.slot);
            let implementation = new.slot.original();
            for slot in &function.slots {
                // SAFETY: `verify` checked that the new function has the same
                // signature and argument layouts as the one every one of these
                // slots was compiled for, and its library is never unloaded.
                unsafe { slot.set(implementation) };
            }
            if function.source_hash != new.source_hash {
                function.source_hash = new.source_hash;
                changed.push(old.path);
            }
        }
        changed.sort_unstable();
        changed
    }
}
