//! What the hot code of a Bevy app names from
//! [`hotreload-bevy`](https://docs.rs/hotreload-bevy): [`HotSystems`],
//! [`HotSystemsSet`] and [`HotReloaded`]. Use them through
//! `hotreload-bevy`, which re-exports them.
//!
//! They live in a crate of their own, which does not depend on the
//! reloader, for the hot builds: a hot build of a library names this crate
//! in place of `hotreload-bevy` (as it names `hotreload-core` in place of
//! `hotreload-runtime`), so the reloader, its dependencies and their
//! debug info stay out of the link of every reload. The types are the
//! same in the program and in its hot builds: they are defined once, here.
//! A library that uses more of `hotreload-bevy` than this (the plugin)
//! does not build against this crate alone; its hot builds then link
//! `hotreload-bevy` itself.
#![warn(missing_docs)]

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{
    InternedScheduleLabel, IntoScheduleConfigs, ScheduleConfigs, ScheduleLabel,
};
use bevy_ecs::system::ScheduleSystem;

/// Where the hot systems of a schedule run: order it to order them all,
/// e.g. `app.configure_sets(Update, HotSystemsSet.after(physics))`. With
/// `reload` on it holds the one system that runs them (in
/// `HotSchedule(Update)`); off, the hot systems themselves.
#[derive(SystemSet, Clone, Debug, PartialEq, Eq, Hash)]
pub struct HotSystemsSet;

/// Sent after each reload, at the safe point (after `Last`): systems that
/// read it see it in the next frame.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct HotReloaded {
    /// Counts the builds that went live, from 1.
    pub generation: u64,
    /// Hot functions whose code changed.
    pub changed: Vec<String>,
    /// Systems made anew because their parameters changed.
    pub remade: Vec<String>,
    /// Systems a registration added that were not there before.
    pub added: Vec<String>,
    /// Systems no registration adds any more.
    pub removed: Vec<String>,
}

/// What a registration function (`#[hot] fn systems(hot: &mut HotSystems)`)
/// adds: systems for schedules, as `App::add_systems` takes them.
#[derive(Default)]
pub struct HotSystems {
    added: Vec<Added>,
}

/// Systems added to a schedule, and whether they run again after an edit.
#[doc(hidden)]
pub struct Added {
    pub label: InternedScheduleLabel,
    pub configs: ScheduleConfigs<ScheduleSystem>,
    pub rerun: bool,
}

impl HotSystems {
    /// Adds `systems` to `schedule`, with their ordering, sets and run
    /// conditions, as `App::add_systems` does.
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

    /// What was added, in order (for `hotreload-bevy`).
    #[doc(hidden)]
    pub fn into_added(self) -> Vec<Added> {
        self.added
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
