//! A small bevy_ecs world: creatures are born, age and retire. Every
//! system is hot: edit one while it runs (how many are born per tick, how
//! fast they age, when they retire) and the same world goes on.

use bevy_ecs::prelude::*;
use hotreload_runtime::hot;

/// A creature's age, in ticks.
#[derive(Component, Debug)]
pub struct Age(pub u32);

/// What happened so far.
#[derive(Resource, Default, Debug)]
pub struct Census {
    pub born: u64,
    pub retired: u64,
}

/// Creatures born each tick: edit the number.
#[hot]
pub fn birth(mut commands: Commands, mut census: ResMut<Census>) {
    for _ in 0..1 {
        commands.spawn(Age(0));
        census.born += 1;
    }
}

/// Every creature ages.
#[hot]
pub fn aging(mut creatures: Query<&mut Age>) {
    for mut age in &mut creatures {
        age.0 += 1;
    }
}

/// Creatures retire at this age.
#[hot]
pub fn retirement(
    mut commands: Commands,
    creatures: Query<(Entity, &Age)>,
    mut census: ResMut<Census>,
) {
    for (creature, age) in &creatures {
        if age.0 >= 5 {
            commands.entity(creature).despawn();
            census.retired += 1;
        }
    }
}

/// The systems, in order.
pub fn schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.add_systems((birth, aging, retirement).chain());
    schedule
}
