//! A system instance that outlives the schedule it runs in.
//!
//! The hot systems of a schedule run in a schedule of their own (see
//! `remake`), which is made anew after every reload from the new build's
//! registration. A system whose parameters did not change must keep its
//! instance: its `Local`s, its change ticks, its message readers' cursors.
//! A built schedule keeps its systems to itself (bevy_ecs 0.17 has no way to
//! take one out, nor to remove one), so every hot system is a [`Shared`]:
//! the schedule's node holds one handle, `remake` another, and the new
//! schedule gets a handle to the same instance.
//!
//! The lock is taken once per call of the system; nothing else locks it
//! while a schedule runs (`remake` runs at the safe point, when none does),
//! so it is never contended.

use std::any::TypeId;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bevy_ecs::component::Tick;
use bevy_ecs::query::FilteredAccessSet;
use bevy_ecs::schedule::InternedSystemSet;
use bevy_ecs::system::ScheduleSystem;
use bevy_ecs::system::{RunSystemError, System, SystemParamValidationError, SystemStateFlags};
use bevy_ecs::world::{DeferredWorld, World, unsafe_world_cell::UnsafeWorldCell};
use bevy_utils::prelude::DebugName;
use hotreload_runtime::RolledBack;

/// One system instance, shared by the schedules made for it.
#[derive(Clone)]
pub struct Shared(Arc<Mutex<Instance>>);

struct Instance {
    system: ScheduleSystem,
    /// Whether a schedule initialized it before: a schedule made later
    /// initializes it again, which must not look like a new system.
    initialized: bool,
}

impl Instance {
    /// Initializes the system for `world`; again, as a schedule made later
    /// does, without its change detection starting over.
    fn initialize(&mut self, world: &mut World) -> FilteredAccessSet {
        if !self.initialized {
            self.initialized = true;
            return self.system.initialize(world);
        }
        // Initializing a system again keeps its state (its `Local`s) but
        // makes its change detection start over, as for a new system:
        // everything would look added and changed to it once.
        let last_run = self.system.get_last_run();
        let access = self.system.initialize(world);
        self.system.set_last_run(last_run);
        access
    }
}

impl Shared {
    pub fn new(system: ScheduleSystem) -> Shared {
        Shared(Arc::new(Mutex::new(Instance {
            system,
            initialized: false,
        })))
    }

    /// Runs the system once, now, outside any schedule (initializing it
    /// first if no schedule did).
    pub fn run_now(&self, world: &mut World) -> Result<(), RunSystemError> {
        let mut instance = self.lock();
        if !instance.initialized {
            instance.initialize(world);
        }
        instance.system.run((), world)
    }

    fn lock(&self) -> MutexGuard<'_, Instance> {
        // A panic inside a system leaves it as consistent as bevy leaves
        // any system after one.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The system's name (the function's path for a function system).
    pub fn name(&self) -> String {
        self.lock().system.name().to_string()
    }

    /// The system's type: a function system's includes its parameters.
    pub fn system_type(&self) -> TypeId {
        self.lock().system.type_id()
    }
}

impl System for Shared {
    type In = ();
    type Out = ();

    fn name(&self) -> DebugName {
        self.lock().system.name()
    }

    fn type_id(&self) -> TypeId {
        self.lock().system.type_id()
    }

    fn flags(&self) -> SystemStateFlags {
        self.lock().system.flags()
    }

    unsafe fn run_unsafe(
        &mut self,
        input: (),
        world: UnsafeWorldCell,
    ) -> Result<(), RunSystemError> {
        // SAFETY: the caller's promise, for the system it holds: the access
        // it checked is the one this system's `initialize` returned.
        returning_at_rolled_back(|| unsafe { self.lock().system.run_unsafe(input, world) })
    }

    fn run(&mut self, input: (), world: &mut World) -> Result<(), RunSystemError> {
        returning_at_rolled_back(|| self.lock().system.run(input, world))
    }

    fn run_without_applying_deferred(
        &mut self,
        input: (),
        world: &mut World,
    ) -> Result<(), RunSystemError> {
        returning_at_rolled_back(|| {
            self.lock()
                .system
                .run_without_applying_deferred(input, world)
        })
    }

    fn apply_deferred(&mut self, world: &mut World) {
        self.lock().system.apply_deferred(world);
    }

    fn queue_deferred(&mut self, world: DeferredWorld) {
        self.lock().system.queue_deferred(world);
    }

    unsafe fn validate_param_unsafe(
        &mut self,
        world: UnsafeWorldCell,
    ) -> Result<(), SystemParamValidationError> {
        // SAFETY: the caller's promise, passed on.
        unsafe { self.lock().system.validate_param_unsafe(world) }
    }

    fn initialize(&mut self, world: &mut World) -> FilteredAccessSet {
        self.lock().initialize(world)
    }

    fn check_change_tick(&mut self, check: bevy_ecs::component::CheckChangeTicks) {
        self.lock().system.check_change_tick(check);
    }

    fn default_system_sets(&self) -> Vec<InternedSystemSet> {
        self.lock().system.default_system_sets()
    }

    fn get_last_run(&self) -> Tick {
        self.lock().system.get_last_run()
    }

    fn set_last_run(&mut self, last_run: Tick) {
        self.lock().system.set_last_run(last_run);
    }
}

/// Runs a system; a [`RolledBack`] panic that leaves it (its function was
/// called again after its new code panicked, and there was no earlier code
/// of its parameters to call: a system made anew, or new, whose every
/// argument can be passed again) ends the run as if the system had
/// returned, where Bevy would end the app. Any other panic goes on.
fn returning_at_rolled_back(
    run: impl FnOnce() -> Result<(), RunSystemError>,
) -> Result<(), RunSystemError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(result) => result,
        Err(payload) if payload.is::<RolledBack>() => Ok(()),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}
