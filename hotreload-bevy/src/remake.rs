//! Making the hot systems' schedules, at start and after every reload.
//!
//! The systems a registration adds to a schedule `L` (`Update`, ...) run in
//! a schedule of their own, [`HotSchedule(L)`](HotSchedule), which one
//! exclusive system in `L` (in [`HotSystemsSet`]) runs. After a reload the
//! registration runs again — its new code — and `HotSchedule(L)` is made
//! anew from what it adds, with the ordering, sets and run conditions it
//! gives. bevy_ecs 0.17 can neither remove a system from a built schedule
//! nor change its parameters in place, so the schedule is replaced whole;
//! what survives is each system's instance ([`Shared`]):
//!
//! - same name, same parameters (the same system type): the instance it
//!   had, with its `Local`s and change ticks; its body is the newest if it
//!   is `#[hot]`;
//! - same name, other parameters: an instance made by the new build (its
//!   `Local`s start fresh); the one it replaces is kept, to be put back if
//!   the new code panics;
//! - a new name: a new instance, from the next frame; a name no longer
//!   added: its instance is dropped.

use std::any::TypeId;
use std::collections::{HashMap, HashSet};

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{InternedScheduleLabel, ScheduleLabel, Schedules};
use bevy_ecs::system::ScheduleSystem;

use crate::shared::Shared;
use crate::{HotSystems, HotSystemsSet};

/// The schedule the hot systems of the schedule it names run in.
#[derive(ScheduleLabel, Clone, Debug, PartialEq, Eq, Hash)]
pub struct HotSchedule(pub InternedScheduleLabel);

/// A system in a hot schedule: the schedule it was added to, and its name.
type Key = (InternedScheduleLabel, String);

/// What the plugin keeps from one making to the next.
#[derive(Resource, Default)]
pub struct Made {
    /// The registration functions, in the order they were added.
    pub registrations: Vec<fn(&mut HotSystems)>,
    /// The instances in the hot schedules now.
    running: HashMap<Key, Vec<Shared>>,
    /// Instances replaced because their parameters changed: put back if
    /// the new code panics.
    replaced: HashMap<Key, Shared>,
    /// Systems (name and type) whose new code panicked and that have no
    /// code since: not made again.
    refused: HashSet<(String, TypeId)>,
    /// Systems the last making made from new code (other parameters, or
    /// new): those a panic can refuse.
    fresh: HashMap<String, TypeId>,
    /// Schedules that have the system running their hot schedule.
    runners: HashSet<InternedScheduleLabel>,
    /// Systems added with `rerun_on_edit`.
    rerun: HashSet<String>,
}

/// What a making changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Systems whose parameters changed: new instances.
    pub remade: Vec<String>,
    /// Systems that were not there before.
    pub added: Vec<String>,
    /// Systems no longer added.
    pub removed: Vec<String>,
}

impl Changes {
    /// Whether the making changed no system.
    pub fn is_empty(&self) -> bool {
        self.remade.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

impl Made {
    /// The names of every hot system.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.running.keys().map(|(_, name)| name.as_str())
    }

    /// After new code of `function` panicked: if the last making made a
    /// system of it from new code, that system is not made from it again
    /// (the one it replaced comes back, or, new, it is left out). Returns
    /// whether the hot schedules must be made again.
    pub fn refuse(&mut self, function: &str) -> bool {
        match self.fresh.remove(function) {
            Some(system_type) => self.refused.insert((function.to_string(), system_type)),
            None => false,
        }
    }

    /// After a reload: functions whose code changed get another chance.
    pub fn forgive(&mut self, changed: &[String]) {
        self.refused.retain(|(name, _)| !changed.contains(name));
    }
}

/// Runs the registrations and makes every hot schedule from what they add.
pub fn make(world: &mut World, made: &mut Made) -> Changes {
    let mut hot = HotSystems::default();
    for register in &made.registrations {
        register(&mut hot);
    }
    let mut schedules: HashMap<InternedScheduleLabel, Schedule> = HashMap::new();
    let mut rerun = HashSet::new();
    for added in hot.into_added() {
        let schedule = schedules
            .entry(added.label)
            .or_insert_with(|| Schedule::new(HotSchedule(added.label)));
        let before = schedule.graph().systems.len();
        schedule.add_systems(added.configs);
        if added.rerun {
            // A new schedule's systems iterate in the order they were added.
            let systems = schedule.graph().systems.iter().skip(before);
            rerun.extend(systems.map(|(key, _, _)| (added.label, key)));
        }
    }
    made.rerun.clear();
    let mut before = std::mem::take(&mut made.running);
    let mut changes = Changes::default();
    made.fresh.clear();
    for (&label, schedule) in &mut schedules {
        let systems = &mut schedule.graph_mut().systems;
        let keys: Vec<_> = systems.iter().map(|(key, _, _)| key).collect();
        for key in keys {
            let node = &mut systems.get_mut(key).expect("added above").system;
            let new = std::mem::replace(node, Box::new(IntoSystem::into_system(placeholder)));
            let instance = made.choose(label, new, &mut before, &mut changes);
            if rerun.contains(&(label, key)) {
                made.rerun.insert(instance.name());
            }
            made.running
                .entry((label, instance.name()))
                .or_default()
                .push(instance.clone());
            *node = Box::new(instance);
        }
    }
    changes.removed = before.into_keys().map(|(_, name)| name).collect();
    changes
        .removed
        .retain(|name| !made.names().any(|n| n == name));
    install(world, made, schedules);
    for list in [
        &mut changes.remade,
        &mut changes.added,
        &mut changes.removed,
    ] {
        list.sort();
        list.dedup();
    }
    changes
}

impl Made {
    /// The instance for `new`, a system the registration added to `label`.
    fn choose(
        &mut self,
        label: InternedScheduleLabel,
        new: ScheduleSystem,
        before: &mut HashMap<Key, Vec<Shared>>,
        changes: &mut Changes,
    ) -> Shared {
        let name = new.name().to_string();
        let system_type = new.type_id();
        let key = (label, name.clone());
        if self.refused.contains(&(name.clone(), system_type)) {
            // Its new code panicked: what it replaced, or nothing.
            before.remove(&key);
            return self
                .replaced
                .get(&key)
                .cloned()
                .unwrap_or_else(|| Shared::new(Box::new(IntoSystem::into_system(placeholder))));
        }
        match before.get_mut(&key) {
            Some(old) => {
                if let Some(at) = old.iter().position(|s| s.system_type() == system_type) {
                    return take(before, &key, at);
                }
                // Other parameters.
                let replaced = take(before, &key, 0);
                self.replaced.insert(key, replaced);
                changes.remade.push(name.clone());
            }
            None => changes.added.push(name.clone()),
        }
        self.fresh.insert(name, system_type);
        Shared::new(new)
    }
}

/// Runs the `rerun_on_edit` systems among `names` (a reload's changed
/// functions, and the systems a making made anew or added).
pub fn rerun<'a>(world: &mut World, made: &Made, names: impl Iterator<Item = &'a String>) {
    let names: HashSet<&String> = names.filter(|name| made.rerun.contains(*name)).collect();
    for ((_, name), instances) in &made.running {
        if !names.contains(name) {
            continue;
        }
        for instance in instances {
            if let Err(error) = instance.run_now(world) {
                tracing::warn!("[hotreload] `{name}` did not run again: {error}");
            }
        }
    }
}

fn take(before: &mut HashMap<Key, Vec<Shared>>, key: &Key, at: usize) -> Shared {
    let list = before.get_mut(key).expect("found by the caller");
    let instance = list.remove(at);
    if list.is_empty() {
        before.remove(key);
    }
    instance
}

/// What a system taken out of a schedule leaves, and what runs for a new
/// system whose code panicked until its code changes.
fn placeholder() {}

/// Puts the made schedules in place of the old ones (a schedule that has
/// no hot systems left is emptied) and adds the systems that run them.
fn install(
    world: &mut World,
    made: &mut Made,
    mut schedules: HashMap<InternedScheduleLabel, Schedule>,
) {
    for &label in &made.runners {
        schedules
            .entry(label)
            .or_insert_with(|| Schedule::new(HotSchedule(label)));
    }
    let mut all = world.resource_mut::<Schedules>();
    for (label, schedule) in schedules {
        all.insert(schedule);
        if made.runners.insert(label) {
            all.add_systems(label, run_hot_schedule(label).in_set(HotSystemsSet));
        }
    }
}

/// The system that runs the hot systems of `label`.
fn run_hot_schedule(label: InternedScheduleLabel) -> impl FnMut(&mut World) {
    move |world: &mut World| {
        // Missing only while it runs, which it does not here.
        let _ = world.try_run_schedule(HotSchedule(label));
    }
}
