//! The pipeline thread: waits for changes, builds (on a worker thread, so
//! that a newer save can cancel a build in flight), then stages, loads,
//! verifies and arms each build, and hands it to `update()`.
//!
//! One save, in [`Pipeline::run`]'s loop: [`Pipeline::changed`] (the
//! watcher's event) -> [`Pipeline::start_next`] (a build on a worker) ->
//! [`Pipeline::finished`] (its end) -> [`Pipeline::take`] (stage, load,
//! verify, arm) -> [`Pipeline::deliver`]. A build comes to `take` as a
//! [`Built`], from wherever it was made: built here, or published by
//! another process of the program for the same sources (`published`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Instant, SystemTime};

use crate::Error;
use crate::apply::arm::{self, Unlinked};
use crate::build::config::BuildConfig;
use crate::build::package::Package;
use crate::build::published;
use crate::build::quick::Quick;
use crate::build::{Built, Cancel, Recipe};
use crate::load;
use crate::registry::{ENTRIES, Manifest};
use crate::report::{Ready, Restarting, Timings};
use crate::restart;
use crate::sources::Snapshot;
use crate::stage::Staging;
use crate::stage::one_copy;
use crate::verify;
use crate::verify::types::Sources;
use crate::watch::Change;

use super::delivery::{Delivery, Verified};
use super::hooks::{APPLIED, HOOKS, lock};
use super::set_pending;

/// What the pipeline thread waits for: a change from the watcher, or the
/// end of the build it started.
pub enum Event {
    Change(Change),
    /// The `Reloader` was dropped.
    Stop,
    Finished(Box<Finished>),
}

impl From<Change> for Event {
    fn from(change: Change) -> Event {
        Event::Change(change)
    }
}

/// A build's end, as its worker thread reports it.
pub struct Finished {
    index: usize,
    /// The package's recipe as the build left it.
    recipe: Recipe,
    result: Result<Built, Error>,
    /// This process's turn at the package's builds, held until the
    /// artifact is staged.
    turn: Option<published::Turn>,
    started: Instant,
}

/// What the pipeline thread starts from, made in `Reloader::start`.
pub struct Start {
    pub packages: Vec<Package>,
    /// The packages' sources as the program has them (read in `start`,
    /// before any edit made after it; parsed on the pipeline thread).
    pub snapshots: Vec<Snapshot>,
    pub config: BuildConfig,
    pub staging: Staging,
    pub events: Receiver<Event>,
    /// For the build threads.
    pub events_tx: Sender<Event>,
    pub deliveries: Sender<Delivery>,
}

impl Start {
    /// The pipeline thread: the warm-up, then the pipeline until the
    /// `Reloader` is dropped.
    pub fn run(self) {
        if let Some(mut pipeline) = self.warm_up() {
            pipeline.run();
        }
    }

    /// Builds every package once (the first hot build compiles the library
    /// as a cdylib from scratch: done now, the first edit is as fast as the
    /// tenth), while the sources are parsed and the program's symbols
    /// shared beside it; then says `Ready`. `None` if the pipeline cannot
    /// go on.
    fn warm_up(mut self) -> Option<Pipeline> {
        // Parsing every source file twice takes the unoptimized runtime a
        // few tenths of a second on a large library.
        let snapshots = std::mem::take(&mut self.snapshots);
        let reading = std::thread::Builder::new()
            .name("hotreload-sources".into())
            .spawn(move || read_sources(snapshots));
        // Done before anything is loaded.
        let sharing = std::thread::Builder::new()
            .name("hotreload-program".into())
            .spawn(|| one_copy::share().err());
        if let Some(first) = self.packages.first() {
            self.config.find_hot_flags(&first.manifest_dir);
        }
        let warming = Instant::now();
        let (recipes, failed) = self.build_each();
        let Ok(Ok(read)) = reading.map(std::thread::JoinHandle::join) else {
            tracing::warn!("the package's sources could not be read; reloading stops");
            return None;
        };
        let packages = self.packages.into_iter().zip(recipes).zip(read);
        let mut pipeline = Pipeline {
            packages: packages
                .map(|((package, recipe), (quick, sources))| PackageState {
                    package,
                    recipe,
                    sources,
                    quick,
                    full_next: false,
                    prune_suspect: false,
                })
                .collect(),
            config: self.config,
            staging: self.staging,
            events: self.events,
            events_tx: self.events_tx,
            deliveries: self.deliveries,
            dirty: BTreeMap::new(),
            in_flight: None,
        };
        // Saves made during the warm-up are built now.
        let mut waiting = 0;
        while let Ok(event) = pipeline.events.try_recv() {
            match event {
                Event::Change(change) => {
                    waiting += 1;
                    pipeline.changed(change);
                }
                Event::Stop => return None,
                Event::Finished(_) => {}
            }
        }
        let ready = Ready {
            packages: pipeline
                .packages
                .iter()
                .map(|p| p.package.name.clone())
                .collect(),
            functions: ENTRIES.len(),
            warm_up: warming.elapsed(),
            failed,
            waiting,
            own_copies: match sharing {
                Ok(thread) => thread.join().ok().flatten(),
                Err(_) => one_copy::share().err(),
            }
            .map(String::from),
        };
        pipeline.deliver(Delivery::Ready(ready)).ok()?;
        Some(pipeline)
    }
}

impl Start {
    /// Each package built once: its recipe, and the packages whose build
    /// failed, with why.
    fn build_each(&mut self) -> (Vec<Recipe>, Vec<(String, String)>) {
        let mut recipes = Vec::new();
        let mut failed = Vec::new();
        for package in &mut self.packages {
            package.find_runtime_feature(&self.config.cargo);
            let mut recipe = Recipe::default();
            let (result, _turn) =
                published::build_or_take(&self.config, package, &mut recipe, &Cancel::default());
            if let Err(error) = result {
                tracing::warn!("warm-up build of `{}` failed: {error}", package.name);
                failed.push((package.name.clone(), error.to_string()));
            }
            recipes.push(recipe);
        }
        (recipes, failed)
    }
}

/// The first of `paths` relative to `package_dir`, if every one is a
/// binary's source (`src/main.rs`, under `src/bin/`): no build reloads
/// those.
fn only_binary_sources(package_dir: &Path, paths: &[PathBuf]) -> Option<String> {
    let src = package_dir.join("src");
    let binary = |path: &PathBuf| path == &src.join("main.rs") || path.starts_with(src.join("bin"));
    let first = paths.first()?;
    paths.iter().all(binary).then(|| {
        let relative = first.strip_prefix(package_dir).unwrap_or(first);
        relative.display().to_string()
    })
}

/// One package's quick-build planner (`None` with `HOTRELOAD_QUICK=0`) and
/// type definitions, from its sources as the program has them.
fn read_sources(snapshots: Vec<Snapshot>) -> Vec<(Option<Quick>, Sources)> {
    let quick = std::env::var_os("HOTRELOAD_QUICK").is_none_or(|v| v != "0");
    snapshots
        .into_iter()
        .map(|snapshot| (quick.then(|| Quick::new(&snapshot)), Sources::new(snapshot)))
        .collect()
}

/// One package, as the pipeline follows it.
struct PackageState {
    package: Package,
    /// How its next build is made.
    recipe: Recipe,
    /// Its type definitions: the program's and the newest.
    sources: Sources,
    /// Its quick-build planner (`None` with `HOTRELOAD_QUICK=0`).
    quick: Option<Quick>,
    /// The next build is a full one: a quick one did not compile.
    full_next: bool,
    /// That quick build was pruned (for the full build that follows it:
    /// see [`InFlight::prune_suspect`]).
    prune_suspect: bool,
}

/// The build in flight.
struct InFlight {
    index: usize,
    /// The newest save it includes.
    seen: Instant,
    cancel: Arc<Cancel>,
    /// A newer save of the same package arrived: the result is old.
    stale: bool,
    /// A full build after a pruned quick one failed: if it builds, the
    /// pruning was at fault.
    prune_suspect: bool,
}

/// Why a finished build is not handed to `update()` (what is, is a
/// [`Delivery`]).
enum Failure {
    /// A quick build the program cannot link: built again in full, at once
    /// (not shown to the user).
    Unlinked(Unlinked),
    Error(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Error(error)
    }
}

/// `update()`'s side is gone (the `Reloader` was dropped).
struct Gone;

/// The pipeline, after the warm-up.
struct Pipeline {
    packages: Vec<PackageState>,
    config: BuildConfig,
    staging: Staging,
    events: Receiver<Event>,
    events_tx: Sender<Event>,
    deliveries: Sender<Delivery>,
    /// Package index -> when its newest change was seen.
    dirty: BTreeMap<usize, Instant>,
    in_flight: Option<InFlight>,
}

impl Pipeline {
    /// One event at a time, until the `Reloader` is dropped.
    fn run(&mut self) {
        loop {
            self.start_next();
            let Ok(event) = self.events.recv() else {
                return;
            };
            let went_on = match event {
                Event::Stop => Err(Gone),
                Event::Change(change) => {
                    self.changed(change);
                    Ok(())
                }
                Event::Finished(finished) => self.finished(*finished),
            };
            if went_on.is_err() {
                if let Some(build) = &self.in_flight {
                    build.cancel.cancel();
                }
                return;
            }
        }
    }

    /// A save: the build in flight of that package is stale (its result
    /// would be older than the files: stopped, and built again).
    fn changed(&mut self, change: Change) {
        tracing::debug!(paths = ?change.paths, "change");
        let package = &self.packages[change.package].package;
        if package.has_library
            && let Some(file) = only_binary_sources(&package.manifest_dir, &change.paths)
        {
            let package = package.name.clone();
            let _ = self.deliver(Delivery::Failed(Error::BinaryChanged { package, file }));
            return;
        }
        if let Some(build) = &mut self.in_flight
            && build.index == change.package
        {
            build.stale = true;
            build.cancel.cancel();
        }
        let state = &mut self.packages[change.package];
        state.recipe.changed(&state.package, &change.paths);
        state.sources.changed(&change.paths);
        self.dirty.insert(change.package, change.seen);
    }

    /// Starts the next build, if none is in flight and a package changed.
    fn start_next(&mut self) {
        if self.in_flight.is_none()
            && let Some((index, seen)) = self.dirty.pop_first()
        {
            self.in_flight = Some(self.start_build(index, seen));
            // While it builds: read the type definitions it is built from.
            self.packages[index].sources.refresh();
        }
    }

    /// Starts building package `index` on a worker thread: a quick build
    /// if its planner says so and the last one compiled.
    fn start_build(&mut self, index: usize, seen: Instant) -> InFlight {
        let state = &mut self.packages[index];
        let mut recipe = state.recipe.clone();
        (recipe.quick, recipe.full_reason) = match state.quick.as_mut().map(Quick::plan) {
            Some(Ok(plan)) => (Some(plan), None),
            Some(Err(why)) => (None, why.map(|why| why.to_string())),
            None => (None, None),
        };
        if std::mem::take(&mut state.full_next) {
            recipe.quick = None;
            recipe.full_reason = Some("the quick build did not compile".to_string());
        }
        if recipe.quick.is_some() {
            state.sources.as_live();
        }
        let prune_suspect = recipe.quick.is_none() && std::mem::take(&mut state.prune_suspect);
        let cancel = Arc::new(Cancel::default());
        let (package, config) = (state.package.clone(), self.config.clone());
        let (events, worker_cancel) = (self.events_tx.clone(), Arc::clone(&cancel));
        let started = Instant::now();
        let spawned = std::thread::Builder::new()
            .name("hotreload-build".into())
            .spawn(move || {
                let (result, turn) =
                    published::build_or_take(&config, &package, &mut recipe, &worker_cancel);
                let finished = Finished {
                    index,
                    recipe,
                    result,
                    turn,
                    started,
                };
                let _ = events.send(Event::Finished(Box::new(finished)));
            });
        if let Err(source) = spawned {
            let finished = Finished {
                index,
                recipe: self.packages[index].recipe.clone(),
                result: Err(Error::Thread {
                    name: "build",
                    source,
                }),
                turn: None,
                started,
            };
            let _ = self.events_tx.send(Event::Finished(Box::new(finished)));
        }
        InFlight {
            index,
            seen,
            cancel,
            stale: false,
            prune_suspect,
        }
    }

    /// A build's end: taken and delivered, or built again (stale, or a
    /// quick build that did not compile or cannot be linked: a full one).
    fn finished(&mut self, finished: Finished) -> Result<(), Gone> {
        let Finished {
            index,
            recipe,
            result,
            turn,
            started,
        } = finished;
        let Some(build) = self.in_flight.take() else {
            return Ok(());
        };
        if build.stale {
            tracing::debug!("discarded a build made stale by a newer save");
            return Ok(());
        }
        // No change of this package arrived while it built, so the build's
        // recipe is current.
        let state = &mut self.packages[index];
        state.recipe = recipe;
        let quick = state.recipe.quick.as_ref();
        if let (Some(plan), Err(Error::Build { .. })) = (quick, &result) {
            // A quick build can fail where a full one would not (a name
            // the pruning could not see): what the user sees is a full
            // build's verdict.
            tracing::debug!("quick build failed; a full one");
            state.full_next = true;
            state.prune_suspect = plan.pruned.is_some();
            self.dirty.insert(index, build.seen);
            return Ok(());
        }
        let pruning_stopped = build.prune_suspect && result.is_ok();
        if pruning_stopped && let Some(quick) = &mut state.quick {
            quick.unprune();
        }
        let taken = result
            .map_err(Failure::Error)
            .and_then(|built| self.take(index, build.seen, started, built));
        let delivery = match taken {
            Ok(mut verified) => {
                verified.pruning_stopped = pruning_stopped;
                Delivery::Verified(verified)
            }
            Err(Failure::Unlinked(unlinked)) => {
                tracing::debug!(
                    "quick build not linkable: the program has {} functions of the path `{}`; \
                     a full one",
                    unlinked.found,
                    unlinked.path
                );
                if let Some(quick) = &mut self.packages[index].quick {
                    quick.disable();
                }
                self.dirty.insert(index, build.seen);
                return Ok(());
            }
            Err(Failure::Error(error)) if restart::can_take(&error) => {
                self.restart_build(index, build.seen, error)?
            }
            Err(Failure::Error(error)) => Delivery::Failed(error),
        };
        // Staged: the next build (of any process) may overwrite the
        // artifact.
        drop(turn);
        self.deliver(delivery)
    }

    /// Stages, loads, verifies and arms a finished build.
    fn take(
        &mut self,
        index: usize,
        seen: Instant,
        started: Instant,
        built: Built,
    ) -> Result<Box<Verified>, Failure> {
        let state = &mut self.packages[index];
        let package = &state.package;
        let quick = state.recipe.quick.is_some();
        let loading = Instant::now();
        // Made at start (see `warm_up`): waits for it if need be.
        let _ = one_copy::share();
        let staged = self.staging.stage(&built.artifact, &package.name)?;
        // SAFETY: the file is our unnamed copy of a build of the package,
        // made by a build here or published by a process of this program
        // for the same sources (`published`), both with our toolchain and
        // settings.
        let loaded = unsafe { load::load(staged, &package.name) }?;
        let verifying = Instant::now();
        state.sources.refresh();
        // `start` made it.
        arm::link_thin(&loaded.manifest, |path| {
            lock(&APPLIED).as_ref()?.first_slot(path)
        })
        .map_err(Failure::Unlinked)?;
        let types = state.sources.changes();
        let mut plan = verify::verify(
            &package.name,
            &Manifest::current(),
            &loaded.manifest,
            &types,
        )?;
        if quick {
            // Not deleted (a quick build has every function the full one
            // has): left out of a pruned build.
            plan.left_out = std::mem::take(&mut plan.missing);
        }
        let own_statics = loaded.own_statics();
        let build = arm::arm(loaded, &plan, &HOOKS);
        let verified = Instant::now();
        if let Some(planner) = &mut state.quick {
            planner.went_live();
        }
        Ok(Box::new(Verified {
            package: package.name.clone(),
            types: state.sources.went_live(),
            unreached: (state.recipe.quick.as_ref())
                .map_or_else(Vec::new, |quick| quick.unreached.clone()),
            plan,
            build,
            // A quick build warns about code only the bodies it left out
            // use (`dead_code`); the full builds say what the code has.
            warnings: if quick { 0 } else { built.warnings },
            built_by: built.builder,
            upgrade: None,
            pruning_stopped: false,
            full_build: state.recipe.full_reason.clone().filter(|_| !quick),
            own_statics,
            timings: Timings {
                saved_at: SystemTime::now() - seen.elapsed(),
                debounce: started - seen,
                build: built.duration,
                load: verifying - loading,
                verify: verified - verifying,
                ..Timings::default()
            },
            verified,
            seen,
        }))
    }

    /// The program's binary built from the sources of a build that was
    /// refused with `because`, for a restart.
    fn restart_build(&self, index: usize, seen: Instant, because: Error) -> Result<Delivery, Gone> {
        let package_dir = &self.packages[index].package.manifest_dir;
        let command = match restart::command(&self.config, package_dir) {
            Ok(command) => command,
            Err(error) => return Ok(Delivery::Failed(error)),
        };
        // Said before the build, which takes seconds.
        self.deliver(Delivery::Restarting(Restarting {
            because: restart::reason(&because),
            command: format!("cargo {}", command.1.join(" ")),
        }))?;
        let started = Instant::now();
        Ok(match restart::build(&self.config, package_dir, command) {
            Ok(binary) => Delivery::Restart(Box::new(restart::Pending {
                binary,
                because,
                seen,
                build: started.elapsed(),
                operator: None,
            })),
            Err(error) => Delivery::Failed(error),
        })
    }

    /// Hands `delivery` to `update()`.
    fn deliver(&self, delivery: Delivery) -> Result<(), Gone> {
        self.deliveries.send(delivery).map_err(|_| Gone)?;
        set_pending();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_save_of_binary_sources_alone_is_told_not_built() {
        let package = Path::new("/work/game");
        let path = |relative: &str| package.join(relative);
        let told = |paths: &[&str]| {
            let paths: Vec<PathBuf> = paths.iter().map(|p| path(p)).collect();
            only_binary_sources(package, &paths)
        };
        assert_eq!(told(&["src/main.rs"]).as_deref(), Some("src/main.rs"));
        assert_eq!(
            told(&["src/bin/tool.rs", "src/main.rs"]).as_deref(),
            Some("src/bin/tool.rs")
        );
        // With the library's sources, or anything else: a build.
        assert_eq!(told(&["src/main.rs", "src/lib.rs"]), None);
        assert_eq!(told(&["src/rules/main.rs"]), None);
        assert_eq!(told(&["Cargo.toml"]), None);
        assert_eq!(told(&[]), None);
    }
}
