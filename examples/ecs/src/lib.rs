//! A small bevy_ecs world: creatures are born (commands), age (a query),
//! retire (a message) and are counted (a resource). Every
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

/// Sent for each creature that retires, with its age.
#[derive(Message, Debug)]
pub struct Retired(pub u32);

/// Creatures retire at this age.
#[hot]
pub fn retirement(
    mut commands: Commands,
    creatures: Query<(Entity, &Age)>,
    mut retired: MessageWriter<Retired>,
) {
    for (creature, age) in &creatures {
        if age.0 >= 5 {
            commands.entity(creature).despawn();
            retired.write(Retired(age.0));
        }
    }
}

/// Counts the retirements sent this tick.
#[hot]
pub fn counting(mut retired: MessageReader<Retired>, mut census: ResMut<Census>) {
    census.retired += retired.read().count() as u64;
}

/// A world with the resources and messages the systems use.
pub fn world() -> World {
    let mut world = World::new();
    world.insert_resource(Census::default());
    world.init_resource::<Messages<Retired>>();
    world
}

/// The systems, in order.
pub fn schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.add_systems((birth, aging, retirement, counting).chain());
    schedule
}
