//! What a registration function adds; the same with `reload` on and off.

use bevy_ecs::schedule::{
    InternedScheduleLabel, IntoScheduleConfigs, ScheduleConfigs, ScheduleLabel,
};
use bevy_ecs::system::ScheduleSystem;

/// What a registration function (`#[hot] fn systems(hot: &mut HotSystems)`)
/// adds: systems for schedules, as `App::add_systems` takes them.
#[derive(Default)]
pub struct HotSystems {
    pub(crate) added: Vec<Added>,
}

/// Systems added to a schedule, and whether they run again after an edit.
pub(crate) struct Added {
    pub label: InternedScheduleLabel,
    pub configs: ScheduleConfigs<ScheduleSystem>,
    /// Read with `reload` on only.
    #[cfg_attr(not(feature = "reload"), allow(dead_code))]
    pub rerun: bool,
}

impl HotSystems {
    /// Adds `systems` to `schedule`, with their ordering, sets and run
    /// conditions, as [`App::add_systems`](bevy_app::App::add_systems)
    /// does.
    pub fn add_systems<M>(
        &mut self,
        schedule: impl ScheduleLabel,
        systems: impl IntoScheduleConfigs<ScheduleSystem, M>,
    ) -> &mut Self {
        self.add(schedule.intern(), systems.into_configs(), false)
    }

    /// Adds `systems` to `schedule` (meant for `Startup`) as
    /// [`HotSystems::add_systems`] does, and, with `reload` on, runs each
    /// of them again, at the safe point, after every reload that changed
    /// its code (or its parameters, or added it). What an earlier run spawned stays: a
    /// system that should replace it despawns it first (the entities with
    /// a marker component it gives them, say).
    pub fn rerun_on_edit<M>(
        &mut self,
        schedule: impl ScheduleLabel,
        systems: impl IntoScheduleConfigs<ScheduleSystem, M>,
    ) -> &mut Self {
        self.add(schedule.intern(), systems.into_configs(), true)
    }

    fn add(
        &mut self,
        label: InternedScheduleLabel,
        configs: ScheduleConfigs<ScheduleSystem>,
        rerun: bool,
    ) -> &mut Self {
        self.added.push(Added {
            label,
            configs,
            rerun,
        });
        self
    }
}
