//! Before any code of a verified build runs, it is pointed at the program:
//! its thin functions at the program's slots, its hot statics at the
//! program's instances, its logging and its panics at the program's. Done
//! on the pipeline thread, before the build is handed to the safe point.

use crate::apply::generations::Armed;
use crate::load::Loaded;
use crate::panic::HostHooks;
use crate::registry::{ENTRIES, Manifest, Slot};
use crate::verify::Plan;

/// A quick build left a function to the program that the program cannot
/// give (no code of that path ran, or the program has more than one of
/// it): it is built again in full.
pub struct Unlinked {
    /// The function.
    pub path: &'static str,
    /// How many the program has of that path.
    pub found: usize,
}

/// Points each thin function of a quick build at the slot that leads to
/// the current code of the function of the same path: `current(path)`,
/// the first slot of its group in [`Applied`](crate::apply::Applied) (the
/// program's own, or, for a function the program was not built with or
/// one whose signature changed since, the first build's that has it as it
/// is now). Before verify: nothing of the build has run, and a build that
/// cannot be linked is not worth verifying.
pub fn link_thin(
    manifest: &Manifest,
    current: impl Fn(&str) -> Option<&'static Slot>,
) -> Result<(), Unlinked> {
    for thin in manifest.thin {
        let found = ENTRIES.iter().filter(|e| e.path == thin.path).count();
        match current(thin.path) {
            // SAFETY: the slot of the function's current group, whose
            // implementations have the signature of the live build's
            // function of this path; the quick build's is the same: a
            // quick build is made only when every file's skeleton (all but
            // the hot bodies) is the verified live build's.
            Some(slot) if found <= 1 => unsafe { thin.slot.set(slot) },
            _ => {
                return Err(Unlinked {
                    path: thin.path,
                    found,
                });
            }
        }
    }
    Ok(())
}

/// Takes over a verified build: its logging, hot statics and panics become
/// the program's (`hooks`: the host's), and it is kept loaded from here on.
pub fn arm(loaded: Loaded, plan: &Plan, hooks: &'static HostHooks) -> Armed {
    loaded.forward_logging();
    for (program, new) in &plan.statics {
        // SAFETY: the program's instance of the static of this path,
        // which lives as long as the program, and whose type verify
        // checked is this build's (else HOT014): the same layout
        // fingerprint (name, size and alignment; with `#[derive(Layout)]`
        // every field's name, offset and type), and a type of the
        // package's own sources defined as when the program was built. A
        // type of a path dependency without the derive, changed inside but
        // not in name, size or alignment, passes both: the README's Known
        // problems says so.
        unsafe { new.program.set(&*program.own) };
    }
    let build = Armed::new(loaded);
    // SAFETY: the host's hooks; the build's manifest has this layout (its
    // symbol's name carries the version).
    unsafe { build.manifest.host_hooks.set(hooks) };
    build
}
