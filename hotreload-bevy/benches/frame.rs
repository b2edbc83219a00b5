//! What hot systems cost a frame: one `App::update()` of an app with 50
//! systems over 1 000 entities, added three ways, compared within one run:
//!
//! ```sh
//! cargo bench -p hotreload-bevy --bench frame --features reload
//! ```
//!
//! - `plain`: 50 plain systems, `add_systems(Update, ..)`;
//! - `hot_systems`: the same bodies `#[hot]`, added with `add_systems`
//!   (each call goes through its slot);
//! - `plugin`: the same `#[hot]` systems added by a registration with
//!   `HotReloadPlugin` (their own schedule, a shared instance each, the
//!   safe point every frame). `HOTRELOAD=0`: nothing is watched or built,
//!   the frame is what it is between reloads.
//!
//! Half of the systems read positions, half move them (each its own
//! component), so the executor has parallel work, as in a game.

use bevy_app::{App, Update};
use bevy_ecs::prelude::*;
use hotreload_bevy::{AddHotSystems, HotReloadPlugin, HotSystems};
use hotreload_runtime::hot;

macro_rules! systems {
    ($($component:ident: $plain:ident $hot:ident $read_plain:ident $read_hot:ident;)*) => {
        $(
            #[derive(Component, Default)]
            struct $component(f32);

            fn $plain(mut query: Query<&mut $component>) {
                for mut c in &mut query {
                    c.0 += 1.0;
                }
            }

            #[hot]
            fn $hot(mut query: Query<&mut $component>) {
                for mut c in &mut query {
                    c.0 += 1.0;
                }
            }

            fn $read_plain(query: Query<&$component>, mut sum: Local<f32>) {
                *sum = query.iter().map(|c| c.0).sum();
            }

            #[hot]
            fn $read_hot(query: Query<&$component>, mut sum: Local<f32>) {
                *sum = query.iter().map(|c| c.0).sum();
            }
        )*

        fn spawn(world: &mut World) {
            for _ in 0..1_000 {
                let mut entity = world.spawn_empty();
                $(entity.insert($component::default());)*
            }
        }

        fn add_plain(app: &mut App) {
            $(app.add_systems(Update, ($plain, $read_plain));)*
        }

        fn add_hot(app: &mut App) {
            $(app.add_systems(Update, ($hot, $read_hot));)*
        }

        #[hot]
        fn registration(hot: &mut HotSystems) {
            $(hot.add_systems(Update, ($hot, $read_hot));)*
        }
    };
}

systems! {
    C0: w0 hw0 r0 hr0; C1: w1 hw1 r1 hr1; C2: w2 hw2 r2 hr2; C3: w3 hw3 r3 hr3;
    C4: w4 hw4 r4 hr4; C5: w5 hw5 r5 hr5; C6: w6 hw6 r6 hr6; C7: w7 hw7 r7 hr7;
    C8: w8 hw8 r8 hr8; C9: w9 hw9 r9 hr9; C10: w10 hw10 r10 hr10; C11: w11 hw11 r11 hr11;
    C12: w12 hw12 r12 hr12; C13: w13 hw13 r13 hr13; C14: w14 hw14 r14 hr14;
    C15: w15 hw15 r15 hr15; C16: w16 hw16 r16 hr16; C17: w17 hw17 r17 hr17;
    C18: w18 hw18 r18 hr18; C19: w19 hw19 r19 hr19; C20: w20 hw20 r20 hr20;
    C21: w21 hw21 r21 hr21; C22: w22 hw22 r22 hr22; C23: w23 hw23 r23 hr23;
    C24: w24 hw24 r24 hr24;
}

fn app(add: impl FnOnce(&mut App)) -> App {
    let mut app = App::new();
    spawn(app.world_mut());
    add(&mut app);
    app.finish();
    app.cleanup();
    // The first frames build the schedules.
    for _ in 0..3 {
        app.update();
    }
    app
}

#[divan::bench]
fn plain(bencher: divan::Bencher) {
    let mut app = app(add_plain);
    bencher.bench_local(|| app.update());
}

#[divan::bench]
fn hot_systems(bencher: divan::Bencher) {
    let mut app = app(add_hot);
    bencher.bench_local(|| app.update());
}

#[divan::bench]
fn plugin(bencher: divan::Bencher) {
    let mut app = app(|app| {
        app.add_plugins(HotReloadPlugin)
            .add_hot_systems(registration);
    });
    bencher.bench_local(|| app.update());
}

fn main() {
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("HOTRELOAD", "0") };
    divan::main();
}
