//! What the pipeline thread hands to `update()`, and what `update()` makes
//! of it at the safe point: a panic report first, then one delivery per
//! call; a verified build is applied there ([`Running::apply`]).

use std::sync::atomic::Ordering;
use std::sync::mpsc::TryRecvError;
use std::time::Instant;

use crate::Error;
use crate::apply::Applied;
use crate::apply::generations::{self, Armed};
use crate::registry::ENTRIES;
use crate::report::{
    BeforeReload, OwnStatic, Ready, Reload, Restarting, Reverted, Timings, Update,
};
use crate::restart;
use crate::verify::Plan;
use crate::verify::types::TypeChanges;

use super::hooks::{APPLIED, PANICS, lock};
use super::{PENDING, Running, listen};

/// What the pipeline thread hands to `update()`.
pub enum Delivery {
    /// The warm-up is done.
    Ready(Ready),
    /// A build, loaded, verified and armed: to apply.
    Verified(Box<Verified>),
    Failed(Error),
    /// A refused build's sources, built as a new binary to restart into.
    Restart(Box<restart::Pending>),
    /// ... being built.
    Restarting(Restarting),
    /// A build pushed as an upgrade (see `listen`): applied as `Verified`,
    /// and its generation sent back.
    Upgrade(Box<Verified>, listen::Applied),
    /// An operator's rollback of the generation, answered when done.
    Revert(u64, listen::RolledBack),
}

/// A build ready to go live at the safe point.
pub struct Verified {
    pub package: String,
    pub plan: Plan,
    /// What `plan` points into.
    pub build: Armed,
    /// See [`Reload::changed_types`] and [`Reload::same_type_id`].
    pub types: TypeChanges,
    /// See [`Reload::unreached`].
    pub unreached: Vec<String>,
    pub warnings: usize,
    /// The process that built it, if not this one.
    pub built_by: Option<u32>,
    /// See [`Reload::upgrade`].
    pub upgrade: Option<u64>,
    /// See [`Reload::pruning_stopped`].
    pub pruning_stopped: bool,
    /// See [`Reload::full_build`].
    pub full_build: Option<String>,
    /// Every one the build has; [`Reload::own_statics`] are those not told
    /// before.
    pub own_statics: Vec<OwnStatic>,
    pub timings: Timings,
    /// The first file event of the save that was built.
    pub seen: Instant,
    pub verified: Instant,
}

/// Serializes the program's state, for a restart ([`Reloader::update_with`]).
///
/// [`Reloader::update_with`]: crate::Reloader::update_with
pub type State<'a> = &'a dyn Fn() -> Result<Vec<u8>, String>;

impl Running {
    /// What happened since the last call: a panic in hot code first, then
    /// the next delivery.
    #[cold]
    pub fn take(&mut self, state: Option<State>) -> Update {
        PENDING.store(false, Ordering::Release);
        let panic = {
            let mut panics = lock(&PANICS);
            (!panics.is_empty()).then(|| panics.remove(0))
        };
        if let Some(panic) = panic {
            PENDING.store(true, Ordering::Release);
            return Update::Panicked(panic);
        }
        let delivery = match self.deliveries.try_recv() {
            Ok(delivery) => delivery,
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => return Update::Idle,
        };
        // More may be queued: look again on the next call.
        PENDING.store(true, Ordering::Release);
        match delivery {
            Delivery::Ready(ready) => Update::Ready(ready),
            Delivery::Verified(verified) => Update::Reloaded(Box::new(self.apply(*verified))),
            Delivery::Failed(error) => Update::Failed(error),
            Delivery::Restart(mut pending) => {
                let state = state.or(self.kept.as_deref().map(|kept| kept as State));
                let operator = pending.operator.take();
                let before = self.before_restart.as_deref_mut();
                let error = restart(*pending, state, operator.as_ref(), before);
                if let Some(operator) = operator {
                    let _ = operator.tell.send(Err(error.to_string()));
                }
                Update::Failed(error)
            }
            Delivery::Restarting(restarting) => Update::Restarting(restarting),
            Delivery::Upgrade(verified, answer) => {
                let reload = self.apply(*verified);
                let _ = answer.send(reload.generation);
                Update::Reloaded(Box::new(reload))
            }
            Delivery::Revert(generation, answer) => {
                let mut applied = lock(&APPLIED);
                let applied = applied.get_or_insert_with(|| Applied::new(&ENTRIES));
                let Some((package, functions)) = generations::revert(applied, generation) else {
                    let _ = answer.send(Err(Error::NothingToRollBack));
                    return Update::Idle;
                };
                let reverted = Reverted {
                    generation,
                    package,
                    functions: functions.iter().map(|path| path.to_string()).collect(),
                };
                let _ = answer.send(Ok(format!("{reverted}")));
                Update::Reverted(reverted)
            }
        }
    }

    /// Applies a verified build: the hook before, the slots swapped, old
    /// builds unloaded if the program asked.
    fn apply(&mut self, verified: Verified) -> Reload {
        let Verified {
            package,
            plan,
            build,
            types,
            unreached,
            warnings,
            built_by,
            upgrade,
            pruning_stopped,
            full_build,
            own_statics,
            mut timings,
            seen,
            verified,
        } = verified;
        let applying = Instant::now();
        timings.wait = applying - verified;
        self.generation += 1;
        let mut applied = lock(&APPLIED);
        let applied = applied.get_or_insert_with(|| Applied::new(&ENTRIES));
        let names = |paths: &[&str]| paths.iter().map(|p| p.to_string()).collect();
        if let Some(before) = &mut self.before {
            before(&BeforeReload {
                package: package.clone(),
                generation: self.generation,
                changed: names(&applied.changes(&plan)),
                changed_types: types.changed.clone(),
            });
        }
        // New since the program started, and not yet in an earlier build.
        let added: Vec<String> = (plan.added.iter())
            .filter(|new| applied.first_slot(new.path).is_none())
            .map(|new| new.path.to_string())
            .collect();
        let (changed, mut kept_rolled_back) = applied.apply(&plan);
        // A quick build left them to the program: still rolled back.
        let thin = build.manifest.thin.iter().map(|t| t.path);
        kept_rolled_back.extend(applied.rolled_back(thin.chain(plan.left_out.iter().copied())));
        let left_out = build.manifest.thin.len() + plan.left_out.len();
        let swept = generations::applied(applied, self.generation, &package, build);
        timings.apply = applying.elapsed();
        timings.total = seen.elapsed();
        Reload {
            package,
            generation: self.generation,
            changed: names(&changed),
            swapped: plan.swaps.len(),
            missing: names(&plan.missing),
            added,
            kept_rolled_back: names(&kept_rolled_back),
            ambiguous: names(&plan.ambiguous),
            warnings,
            built_by,
            upgrade,
            changed_types: types.changed,
            same_type_id: types.same_type_id,
            unreached,
            left_out,
            pruning_stopped,
            full_build,
            unloaded: swept.unloaded,
            pinned: swept.pinned,
            own_statics: (own_statics.into_iter())
                .filter(|own| self.statics_told.insert(own.clone()))
                .collect(),
            timings,
        }
    }
}

/// Restarts into `pending`'s binary with the program's state; returns only
/// if that cannot be done (or the program keeps no state), with why.
fn restart(
    pending: restart::Pending,
    state: Option<State>,
    operator: Option<&restart::Operator>,
    before: Option<&mut (dyn FnMut() + Send + 'static)>,
) -> Error {
    let Some(state) = state else {
        return pending.because;
    };
    restart::restart(&pending, state, operator, before)
}
