//! The plugin with `reload` on: the reloader, the safe point, the report.

use bevy_app::{App, Last, MainScheduleOrder, Plugin};
use bevy_ecs::prelude::*;
use bevy_ecs::schedule::ScheduleLabel;
use hotreload_runtime::{Reloader, Update};
use tracing::Level;

use crate::remake::{self, Made};
use crate::{AddHotSystems, HotReloadPlugin, HotReloaded, HotSystems};

/// The schedule, right after `Last`, where reloads are applied: no other
/// system runs then.
#[derive(ScheduleLabel, Clone, Debug, PartialEq, Eq, Hash)]
struct SafePoint;

/// How many components the reloader was last told of.
#[derive(Resource, Default)]
struct Told(usize);

impl Plugin for HotReloadPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<HotReloaded>();
        if app.world().contains_resource::<Made>() {
            // Added by `add_hot_systems` before.
            return;
        }
        let reloader = Reloader::start()
            .unwrap_or_else(|error| {
                tracing::error!("hot reload is off: {error}");
                Reloader::off()
            })
            .report(false);
        app.insert_non_send_resource(reloader)
            .init_resource::<Made>()
            .init_resource::<Told>()
            .init_schedule(SafePoint)
            .add_systems(SafePoint, safe_point);
        app.world_mut()
            .resource_mut::<MainScheduleOrder>()
            .insert_after(Last, SafePoint);
    }

    fn is_unique(&self) -> bool {
        // Added by `add_hot_systems` when it was not yet.
        false
    }
}

impl AddHotSystems for App {
    fn add_hot_systems(&mut self, register: fn(&mut HotSystems)) -> &mut Self {
        if !self.world().contains_resource::<Made>() {
            self.add_plugins(HotReloadPlugin);
        }
        let world = self.world_mut();
        let reloader = world
            .remove_non_send_resource::<Reloader>()
            .expect("the plugin's");
        world.resource_scope(|world, mut made: Mut<Made>| {
            made.registrations.push(register);
            make(world, &mut made, &reloader);
        });
        world.insert_non_send_resource(reloader);
        self
    }
}

/// Makes the hot schedules (see `remake`) and tells the reloader the
/// functions whose callers it re-made.
fn make(world: &mut World, made: &mut Made, reloader: &Reloader) -> remake::Changes {
    let changes = remake::make(world, made);
    reloader.callers_remade(made.names());
    changes
}

/// Takes what the reloader has, makes the hot schedules again when new
/// code went live, and tells the reloader what the world holds.
fn safe_point(world: &mut World) {
    let Some(mut reloader) = world.remove_non_send_resource::<Reloader>() else {
        return;
    };
    let update = reloader.update();
    report(&update);
    world.resource_scope(|world, mut made: Mut<Made>| match &update {
        Update::Reloaded(reload) => {
            made.forgive(&reload.changed);
            let changes = make(world, &mut made, &reloader);
            if !changes.is_empty() {
                say(Level::INFO, &changes);
            }
            let edited = reload.changed.iter().chain(&changes.remade);
            remake::rerun(world, &made, edited.chain(&changes.added));
            world.write_message(HotReloaded {
                generation: reload.generation,
                changed: reload.changed.clone(),
                remade: changes.remade,
                added: changes.added,
                removed: changes.removed,
            });
        }
        Update::Panicked(panic) if made.refuse(&panic.function) => {
            make(world, &mut made, &reloader);
            let put_back = format!(
                "`{}`: the system made from its new code is out, the one it replaced (if \
                     any) runs again, until its code changes",
                panic.function
            );
            say(Level::WARN, &put_back);
        }
        _ => {}
    });
    tell_held_types(world, &reloader);
    world.insert_non_send_resource(reloader);
}

/// The report line of `update`.
fn report(update: &Update) {
    let level = match update {
        Update::Idle => return,
        Update::Failed(_) => Level::ERROR,
        Update::Panicked(_) | Update::Restarting(_) => Level::WARN,
        _ => Level::INFO,
    };
    say(level, update);
}

/// A line of the reloader's: to Bevy's log when a `tracing` subscriber is
/// set (`LogPlugin`), else to stderr as the runtime's reporter prints it.
fn say(level: Level, line: &dyn std::fmt::Display) {
    if !tracing::dispatcher::has_been_set() {
        eprintln!("[hotreload] {line}");
    } else if level == Level::ERROR {
        tracing::error!("[hotreload] {line}");
    } else if level == Level::WARN {
        tracing::warn!("[hotreload] {line}");
    } else {
        tracing::info!("[hotreload] {line}");
    }
}

/// Names every component, resource and message type of the world to the
/// reloader, which refuses a build that changes one (HOT011): the world
/// holds their values in the definition it has.
fn tell_held_types(world: &mut World, reloader: &Reloader) {
    let components = world.components();
    let count = components.len();
    if world.resource::<Told>().0 == count {
        return;
    }
    let names: Vec<String> = components
        .iter_registered()
        .flat_map(|info| type_names(&info.name().to_string()))
        .collect();
    reloader.hold_types(names);
    world.resource_mut::<Told>().0 = count;
}

/// `Position` of `game::Position`, `Messages` and `Hit` of
/// `bevy_ecs::message::Messages<game::Hit>`: the source reader knows types
/// by the name they are defined with.
fn type_names(type_name: &str) -> Vec<String> {
    type_name
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter_map(|path| path.rsplit("::").next())
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

impl std::fmt::Display for remake::Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "hot systems made again:")?;
        for (what, names) in [
            ("new parameters", &self.remade),
            ("added", &self.added),
            ("removed", &self.removed),
        ] {
            if !names.is_empty() {
                write!(f, " {what}: {}.", names.join(", "))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn type_names_are_last_segments_generics_included() {
        assert_eq!(super::type_names("game::Position"), ["Position"]);
        assert_eq!(
            super::type_names("bevy_ecs::message::Messages<game::Hit>"),
            ["Messages", "Hit"]
        );
        assert_eq!(super::type_names("Score"), ["Score"]);
    }
}
