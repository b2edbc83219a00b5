//! [`Reloader`]: starts the pipeline and applies its results at the safe
//! point.
//!
//! A reload, top to bottom: [`watch`] sees a saved file ->
//! the pipeline thread below runs [`build`](crate::build),
//! [`stage`](crate::stage), [`load`] and
//! [`verify`] off the caller's thread -> `update()`
//! [`apply`](crate::apply)s the verified plan and [`report`]s.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use crate::Error;
use crate::allocator;
use crate::apply::Applied;
use crate::apply::generations::{self, Build};
use crate::build::config::BuildConfig;
use crate::build::package::Package;
use crate::build::published;
use crate::build::quick::Quick;
use crate::build::{Built, Cancel, Recipe};
use crate::load;
use crate::panic::{self, HostHooks, OnPanic, PanickedCall, Reported, RolledBack};
use crate::registry::{ENTRIES, Entry, Manifest};
use crate::report::HotPanic;
use crate::report::{self, BeforeReload, Generation, Ready, Reload, Restarting, Timings, Update};
use crate::restart;
use crate::sources::Snapshot;
use crate::stage::Staging;
use crate::stage::one_copy;
use crate::verify::types::Sources;
use crate::verify::{self, Plan};
use crate::watch::{self, Change, Watch};

/// The hot-reload handle. Create it once with [`Reloader::start`] and call
/// [`Reloader::update`] at a point of your loop where no hot function is
/// running; new code takes effect there.
pub struct Reloader {
    inner: Option<Running>,
    report: bool,
}

/// What [`Reloader::before_reload`] installs.
type BeforeHook = Box<dyn FnMut(&BeforeReload) + Send>;

struct Running {
    outcomes: Receiver<Outcome>,
    generation: u64,
    /// Set by [`Reloader::before_reload`].
    before: Option<BeforeHook>,
    _watch: Watch,
    /// Tells the pipeline thread to end when the `Reloader` is dropped.
    stop: Sender<Event>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(Event::Stop);
    }
}

/// Set when an outcome or a panic report is waiting: `update()` with
/// nothing to do is one atomic load. Process-wide, like the slots: a panic
/// in hot code on any thread reports here.
static PENDING: AtomicBool = AtomicBool::new(false);

/// Notified with [`PENDING`] set, for a reloader in the background.
static WAKE: Condvar = Condvar::new();
static WAKE_LOCK: Mutex<()> = Mutex::new(());

/// Sets [`PENDING`] and wakes a background reloader. The store comes before
/// the lock that the waiter checks under: no wake-up is lost.
fn set_pending() {
    PENDING.store(true, Ordering::Release);
    let _woken = lock(&WAKE_LOCK);
    WAKE.notify_all();
}

/// What every hot function runs; shared with the panic hook, which rolls
/// functions back from whichever thread panicked.
static APPLIED: Mutex<Option<Applied>> = Mutex::new(None);

/// Panics in reloaded code, not yet reported by `update()`.
static PANICS: Mutex<Vec<HotPanic>> = Mutex::new(Vec::new());

/// Installed into every loaded build.
static HOOKS: HostHooks = HostHooks {
    on_panic: on_hot_panic,
    on_nested_panic: record_hot_panic,
    raise_reported,
    enter: panic::enter_reloaded,
    leave: panic::leave_reloaded,
};

/// A poisoned lock still holds consistent data here (every update is a
/// single push, pop or store), so keep going.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Rolls `path` back (by the policy) after its code `implementation`
/// panicked, and queues the report for `update()`. Returns whether it was
/// rolled back.
fn record_hot_panic(implementation: *const (), path: &str, message: &str) -> bool {
    let rolled_back = panic::policy() == OnPanic::Rollback
        && lock(&APPLIED)
            .as_mut()
            .is_some_and(|applied| applied.roll_back(path, implementation));
    // Every trampoline of `path` does the same (it is decided by the
    // signature); the program's entry says what.
    let call = ENTRIES
        .iter()
        .find(|entry| entry.path == path)
        .map_or(PanickedCall::Panicked, |entry| entry.after_rollback);
    let report = HotPanic {
        function: path.to_string(),
        message: message.to_string(),
        rolled_back,
        call,
    };
    tracing::warn!("{report}");
    lock(&PANICS).push(report);
    set_pending();
    rolled_back
}

/// The host side of a panic in reloaded code (see [`crate::panic`]).
fn on_hot_panic(implementation: *const (), path: &str, message: &str) -> ! {
    let rolled_back = record_hot_panic(implementation, path, message);
    raise_reported(&Reported {
        function: path.to_string(),
        message: message.to_string(),
        rolled_back,
    })
}

/// Raises a panic of reloaded code in the program's `std`: [`RolledBack`]
/// (the trampoline retries), or, not rolled back, its message like any
/// panic's.
fn raise_reported(reported: &Reported) -> ! {
    let panic = RolledBack {
        function: reported.function.clone(),
        message: reported.message.clone(),
    };
    if reported.rolled_back {
        std::panic::resume_unwind(Box::new(panic))
    }
    std::panic::resume_unwind(Box::new(panic.to_string()))
}

/// What the pipeline thread hands to `update()`.
#[allow(clippy::large_enum_variant)] // a message, moved once
enum Outcome {
    /// The warm-up is done.
    Ready(Ready),
    Built {
        package: String,
        plan: Plan,
        /// What `plan` points into.
        build: Build,
        /// See [`Reload::changed_types`].
        changed_types: Vec<String>,
        warnings: usize,
        /// The process that built it, if not this one.
        built_by: Option<u32>,
        /// See [`Reload::pruning_stopped`].
        pruning_stopped: bool,
        /// See [`Reload::full_build`].
        full_build: Option<String>,
        timings: Timings,
        /// The first file event of the save that was built.
        seen: Instant,
        verified: Instant,
    },
    Failed(Error),
    /// A refused build's sources, built as a new binary to restart into.
    Restart(Box<restart::Pending>),
    /// ... being built.
    Restarting(Restarting),
}

impl Reloader {
    /// Starts watching and rebuilding every package that holds `#[hot]`
    /// functions linked into this program. Needs no arguments: the
    /// registry written by `#[hot]` names the packages, and the running
    /// executable's place in the target directory gives the profile.
    ///
    /// With no hot functions linked in, or with the environment variable
    /// `HOTRELOAD=0`, returns a handle that does nothing.
    pub fn start() -> Result<Reloader, Error> {
        if restart::checking() {
            // Run only to see whether the state fits (see `take_state`).
            return Ok(Reloader::off());
        }
        if std::env::var_os("HOTRELOAD").is_some_and(|v| v == "0") {
            tracing::info!("HOTRELOAD=0: hot reload is off for this run");
            return Ok(Reloader::off());
        }
        let packages = packages();
        if packages.is_empty() {
            tracing::info!("no #[hot] functions in this program; nothing to reload");
            return Ok(Reloader::off());
        }
        if allocator::global_is_system() == Some(false) {
            return Err(Error::CustomAllocator);
        }
        let config = BuildConfig::of_running_program()?;
        config.check_cargo()?;
        let staging = Staging::new()?;
        let (events_tx, events) = mpsc::channel();
        let roots = packages.iter().map(|p| p.manifest_dir.clone()).collect();
        let watch = watch::start(roots, events_tx.clone())?;
        let (outcome_tx, outcomes) = mpsc::channel();
        lock(&APPLIED).get_or_insert_with(|| Applied::new(&ENTRIES));
        let pipeline = Pipeline {
            recipes: vec![Recipe::default(); packages.len()],
            sources: Vec::new(),
            quick: Vec::new(),
            full_next: vec![false; packages.len()],
            prune_suspect: vec![false; packages.len()],
            snapshots: packages
                .iter()
                .map(|package| Snapshot::read(&package.manifest_dir))
                .collect(),
            packages: packages.clone(),
            config,
            staging,
            events,
            events_tx: events_tx.clone(),
            outcomes: outcome_tx,
        };
        std::thread::Builder::new()
            .name("hotreload".into())
            .spawn(move || pipeline.run())
            .map_err(|source| Error::Thread {
                name: "reload",
                source,
            })?;
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        tracing::info!(packages = ?names, "hot reload is on");
        Ok(Reloader {
            inner: Some(Running {
                outcomes,
                generation: 0,
                before: None,
                _watch: watch,
                stop: events_tx,
            }),
            report: true,
        })
    }

    /// A handle that watches nothing: `update()` is always `Idle` and hot
    /// functions run the code the program was built with. For going on
    /// without hot reload when [`Reloader::start`] fails:
    ///
    /// ```no_run
    /// # use hotreload_runtime::Reloader;
    /// let mut hot = Reloader::start().unwrap_or_else(|error| {
    ///     eprintln!("{error}");
    ///     Reloader::off()
    /// });
    /// ```
    pub fn off() -> Reloader {
        Reloader {
            inner: None,
            report: true,
        }
    }

    /// Turns the default reporter (one line per reload or failure on
    /// stderr) on or off.
    pub fn report(mut self, on: bool) -> Reloader {
        self.report = on;
        self
    }

    /// What to do when reloaded code panics; [`OnPanic::Rollback`] unless
    /// set. Process-wide.
    pub fn on_panic(self, policy: OnPanic) -> Reloader {
        panic::set_policy(policy);
        self
    }

    /// Runs `hook` at the safe point just before each reload's new code is
    /// swapped in, with what it changes (functions, and types no hot
    /// signature reaches): to drop a cache or resources the old code made.
    /// What happened after is the [`Update::Reloaded`] that `update()` (or
    /// the background handle's callback) hands back.
    pub fn before_reload(mut self, hook: impl FnMut(&BeforeReload) + Send + 'static) -> Reloader {
        if let Some(running) = &mut self.inner {
            running.before = Some(Box::new(hook));
        }
        self
    }

    /// Counts the hot calls running in each loaded build, for
    /// [`Reloader::generations`]: two atomic additions per hot call of
    /// reloaded code from then on (none in the program's own code, whose
    /// calls are not counted). Process-wide.
    pub fn count_calls(self) -> Reloader {
        generations::count_calls();
        self
    }

    /// Unloads old builds that nothing can run any more, keeping the newest
    /// `keep` (at least 1) of each package: for a program that takes
    /// reloads for days. Counts calls ([`Reloader::count_calls`]).
    ///
    /// What the reloader can see keeps a build loaded: a hot function that
    /// runs its code, a call or an `async fn`'s future running in it (and
    /// for a second after it stopped being current), thread-locals with
    /// destructors, `tracing` callsites. What it cannot see is listed
    /// below. See the README's *Long runs*.
    ///
    /// # Safety
    ///
    /// The program must keep nothing that hot code of a build handed out
    /// past the call, because that build's code and data are unmapped when
    /// it is unloaded, and using any of them then crashes the program:
    ///
    /// - no function pointer, closure, or trait object (`Box<dyn Fn>`,
    ///   `Box<dyn Error>`: the vtable and drop glue are the build's code)
    ///   made by hot code and kept by the program;
    /// - no `&'static` data of the build, such as a string literal
    ///   returned as `&'static str`, or a `&'static` borrowed from one of
    ///   its (non-`#[hot]`) statics;
    /// - no thread or async task that hot code spawned still running;
    /// - no thread paused for more than a second between reading a hot
    ///   function's slot and calling it (a debugger can do that).
    ///
    /// Hot functions that take and return plain owned data (numbers,
    /// `String`, `Vec`, the program's own types) meet this.
    pub unsafe fn unload_old_builds(self, keep: usize) -> Reloader {
        // SAFETY: our caller's promise, passed on.
        unsafe { generations::unload_old_builds(keep) };
        if self.inner.is_some() && self.report {
            eprintln!(
                "[hotreload] unloading old builds (keeping {}): a function pointer, trait object \
                 or &'static data that hot code handed out dangles once its build is unloaded",
                keep.max(1)
            );
        }
        self
    }

    /// The program's own code (generation 0) and every build still
    /// loaded, oldest first.
    pub fn generations(&self) -> Vec<Generation> {
        generations()
    }

    /// The state the program handed to [`Reloader::update_with`] before a
    /// restart, as its new build's types; `None` in a program that was
    /// started as usual. Call it first thing in `main`, right after
    /// [`Reloader::start`]: to check that the state fits before it
    /// restarts, the old program runs the new one up to this call (in a
    /// mode where it exits here), and only then restarts.
    ///
    /// Fields the new type adds take their `#[serde(default)]` (or the
    /// type's `Default` with `#[serde(default)]` on the struct); removed
    /// ones are dropped; anything else (a field's type changed, a
    /// conversion) is the type's `Deserialize`: serde's `deserialize_with`,
    /// `from = "Old"`, or a hand-written impl are the hooks.
    pub fn take_state<T: serde::de::DeserializeOwned>(&mut self) -> Option<T> {
        restart::take()
    }

    /// [`Reloader::update`], for a program that keeps its state in `state`:
    /// when an edit changes a type the program holds (HOT011) or a hot
    /// function's signature (HOT010), which no reload can take, the
    /// reloader builds the program's binary from the new sources, and here
    /// hands `state` over to it (serialized with serde, checked to fit the
    /// new types) and `exec`s it: same process, new code, the state moved
    /// into the new types (see [`Reloader::take_state`]). If the state does
    /// not fit, nothing changes and the update says why (HOT050). Needs
    /// [`Reloader::take_state`] called at start.
    pub fn update_with<T: serde::Serialize>(&mut self, state: &T) -> Update {
        match &mut self.inner {
            Some(running) if PENDING.load(Ordering::Acquire) => {
                let update = running.take_outcome(Some(&|| {
                    rmp_serde::to_vec_named(state).map_err(|e| e.to_string())
                }));
                if self.report {
                    report::print(&update);
                }
                update
            }
            _ => Update::Idle,
        }
    }

    /// The safe point: applies a verified new build, if one is waiting, and
    /// says what happened. Call it where no hot function is on the stack
    /// (between frames, between requests). One outcome per call; with
    /// nothing waiting it costs one atomic load.
    #[inline]
    pub fn update(&mut self) -> Update {
        match &mut self.inner {
            Some(running) if PENDING.load(Ordering::Acquire) => {
                let update = running.take_outcome(None);
                if self.report {
                    report::print(&update);
                }
                update
            }
            _ => Update::Idle,
        }
    }
}

/// A [`Reloader`] applying each verified build as soon as it is ready, on
/// a thread of its own: for programs without a natural safe point (a
/// server, whose handlers run on many threads). A call that starts after a
/// swap runs the new code; calls already running finish on the code they
/// started with. Dropping it stops reloading.
pub struct Background {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reloader {
    /// Applies verified builds in the background (see [`Background`]);
    /// reports go to the default reporter unless turned off.
    pub fn in_background(self) -> Background {
        self.in_background_with(|_| {})
    }

    /// [`Reloader::in_background`], calling `on_update` with each update
    /// that is not `Idle` (after the default reporter, if on): to log it,
    /// or to show it in a program that owns the terminal.
    pub fn in_background_with(
        mut self,
        mut on_update: impl FnMut(&Update) + Send + 'static,
    ) -> Background {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("hotreload-apply".into())
            .spawn(move || {
                while !stopped.load(Ordering::Acquire) {
                    {
                        let mut woken = lock(&WAKE_LOCK);
                        while !PENDING.load(Ordering::Acquire) && !stopped.load(Ordering::Acquire) {
                            woken = WAKE.wait(woken).unwrap_or_else(PoisonError::into_inner);
                        }
                    }
                    loop {
                        match self.update() {
                            Update::Idle => break,
                            update => on_update(&update),
                        }
                    }
                }
            });
        match thread {
            Ok(thread) => Background {
                stop,
                thread: Some(thread),
            },
            Err(error) => {
                tracing::warn!("hot reload is off: cannot start its apply thread: {error}");
                Background { stop, thread: None }
            }
        }
    }
}

impl Background {
    /// As [`Reloader::generations`].
    pub fn generations(&self) -> Vec<Generation> {
        generations()
    }
}

fn generations() -> Vec<Generation> {
    let mut applied = lock(&APPLIED);
    generations::list(applied.get_or_insert_with(|| Applied::new(&ENTRIES)))
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        {
            let _woken = lock(&WAKE_LOCK);
            WAKE.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Running {
    /// `state` serializes the program's state, if it gave one
    /// ([`Reloader::update_with`]).
    #[cold]
    fn take_outcome(&mut self, state: Option<&dyn Fn() -> Result<Vec<u8>, String>>) -> Update {
        PENDING.store(false, Ordering::Release);
        let panic = {
            let mut panics = lock(&PANICS);
            (!panics.is_empty()).then(|| panics.remove(0))
        };
        if let Some(panic) = panic {
            PENDING.store(true, Ordering::Release);
            return Update::Panicked(panic);
        }
        let outcome = match self.outcomes.try_recv() {
            Ok(outcome) => outcome,
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => return Update::Idle,
        };
        // More may be queued: look again on the next call.
        PENDING.store(true, Ordering::Release);
        match outcome {
            Outcome::Failed(error) => Update::Failed(error),
            Outcome::Restart(pending) => match state {
                // Returns only if the restart cannot be made.
                Some(state) => Update::Failed(match state() {
                    Ok(bytes) => restart::restart(&pending, &bytes),
                    Err(message) => Error::Restart {
                        message: format!("cannot serialize the state: {message}"),
                    },
                }),
                None => Update::Failed(pending.because),
            },
            Outcome::Ready(ready) => Update::Ready(ready),
            Outcome::Restarting(restarting) => Update::Restarting(restarting),
            Outcome::Built {
                package,
                plan,
                build,
                changed_types,
                warnings,
                built_by,
                pruning_stopped,
                full_build,
                mut timings,
                seen,
                verified,
            } => {
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
                        changed_types: changed_types.clone(),
                    });
                }
                let (changed, mut kept_rolled_back) = applied.apply(&plan);
                // A quick build left them to the program: still rolled back.
                let thin = build.manifest.thin.iter().map(|t| t.path);
                kept_rolled_back
                    .extend(applied.rolled_back(thin.chain(plan.left_out.iter().copied())));
                let left_out = build.manifest.thin.len() + plan.left_out.len();
                let swept = generations::applied(applied, self.generation, &package, build);
                timings.apply = applying.elapsed();
                timings.total = seen.elapsed();
                Update::Reloaded(Box::new(Reload {
                    package,
                    generation: self.generation,
                    changed: names(&changed),
                    swapped: plan.swaps.len(),
                    missing: names(&plan.missing),
                    added: names(&plan.added),
                    kept_rolled_back: names(&kept_rolled_back),
                    ambiguous: names(&plan.ambiguous),
                    warnings,
                    built_by,
                    changed_types,
                    left_out,
                    pruning_stopped,
                    full_build,
                    unloaded: swept.unloaded,
                    pinned: swept.pinned,
                    timings,
                }))
            }
        }
    }
}

/// What the pipeline knows of the packages' sources as the program has
/// them: for quick builds (`None` with `HOTRELOAD_QUICK=0`), and their type
/// definitions.
fn read_sources(snapshots: Vec<Snapshot>) -> (Vec<Option<Quick>>, Vec<Sources>) {
    let quick = if std::env::var_os("HOTRELOAD_QUICK").is_none_or(|v| v != "0") {
        snapshots.iter().map(|s| Some(Quick::new(s))).collect()
    } else {
        snapshots.iter().map(|_| None).collect()
    };
    (quick, snapshots.into_iter().map(Sources::new).collect())
}

/// The packages named by the registry, in a stable order.
fn packages() -> Vec<Package> {
    let unique: BTreeMap<&str, &str> = ENTRIES
        .iter()
        .map(|entry| (entry.package, entry.manifest_dir))
        .collect();
    unique
        .into_iter()
        .map(|(name, dir)| Package::new(name, dir.as_ref()))
        .collect()
}

/// What the pipeline thread waits for: a change from the watcher, or the
/// end of the build it started.
enum Event {
    Change(Change),
    /// The `Reloader` was dropped.
    Stop,
    Built {
        index: usize,
        /// The package's recipe as the build left it.
        recipe: Box<Recipe>,
        result: Result<Built, Error>,
        /// This process's turn at the package's builds, held until the
        /// artifact is staged.
        turn: Option<published::Turn>,
        started: Instant,
    },
}

/// A quick build whose thin functions the program cannot link: built again
/// in full, at once (not shown to the user).
const QUICK_UNLINKED: &str = "HOT016";

/// Points each thin function of a quick build at the program's slot of
/// the function of the same path.
fn link_thin(package: &str, manifest: &Manifest) -> Result<(), Error> {
    for thin in manifest.thin {
        let same: Vec<&Entry> = ENTRIES
            .iter()
            .filter(|entry| entry.path == thin.path)
            .collect();
        match same.as_slice() {
            // SAFETY: the program's slot of the function of the same path.
            // Its implementations have the quick build's function type: a
            // quick build is made only when every file's skeleton (all but
            // the hot bodies) is the verified live build's.
            [entry] => unsafe { thin.slot.set(&entry.slot) },
            _ => {
                return Err(Error::Refused(vec![crate::Refusal {
                    code: QUICK_UNLINKED,
                    function: thin.path.to_string(),
                    message: format!(
                        "a quick build of `{package}` left this function to the program, which \
                         has {} functions of that path; building it in full",
                        same.len()
                    ),
                }]));
            }
        }
    }
    Ok(())
}

impl From<Change> for Event {
    fn from(change: Change) -> Event {
        Event::Change(change)
    }
}

/// The build in flight.
struct Building {
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

/// Runs off the caller's thread: waits for changes, builds (on a worker
/// thread, so that a newer save can cancel a build in flight), stages,
/// loads and verifies, and hands the outcome to `update()`.
struct Pipeline {
    packages: Vec<Package>,
    /// One per package: how its next build is made.
    recipes: Vec<Recipe>,
    /// One per package: its type definitions, the program's and the
    /// newest (parsed on the pipeline thread from `snapshots`, read in
    /// `start()`).
    sources: Vec<Sources>,
    snapshots: Vec<Snapshot>,
    /// One per package: what its next quick build leaves to the program
    /// (`None` with `HOTRELOAD_QUICK=0`).
    quick: Vec<Option<Quick>>,
    /// One per package: the next build is a full one (a quick one failed).
    full_next: Vec<bool>,
    /// One per package: the quick build that failed was pruned (for the
    /// full build that follows it: see [`Building::prune_suspect`]).
    prune_suspect: Vec<bool>,
    config: BuildConfig,
    staging: Staging,
    events: Receiver<Event>,
    /// For the build threads.
    events_tx: Sender<Event>,
    outcomes: Sender<Outcome>,
}

impl Pipeline {
    fn run(mut self) {
        let snapshots = std::mem::take(&mut self.snapshots);
        // Alongside the warm-up (parsing every source file twice takes the
        // unoptimized runtime a few tenths of a second on a large library).
        let reading = std::thread::Builder::new()
            .name("hotreload-sources".into())
            .spawn(move || read_sources(snapshots));
        // Alongside the warm-up; done before anything is loaded.
        let sharing = std::thread::Builder::new()
            .name("hotreload-program".into())
            .spawn(|| one_copy::share().err());
        if let Some(first) = self.packages.first() {
            self.config.find_hot_flags(&first.manifest_dir);
        }
        // Warm-up: the first hot build compiles the library as a cdylib
        // from scratch; do it now so the first edit is as fast as the tenth.
        let warming = Instant::now();
        let mut failed = Vec::new();
        for (package, recipe) in self.packages.iter_mut().zip(&mut self.recipes) {
            package.find_runtime_feature(&self.config.cargo);
            let (result, _turn) =
                published::build_or_take(&self.config, package, recipe, &Cancel::default());
            if let Err(error) = result {
                tracing::warn!("warm-up build of `{}` failed: {error}", package.name);
                failed.push((package.name.clone(), error.to_string()));
            }
        }
        match reading.map(std::thread::JoinHandle::join) {
            Ok(Ok((quick, sources))) => (self.quick, self.sources) = (quick, sources),
            _ => {
                tracing::warn!("the package's sources could not be read; reloading stops");
                return;
            }
        }
        // Package index -> when its newest change was seen.
        let mut dirty: BTreeMap<usize, Instant> = BTreeMap::new();
        // Saves made during the warm-up are built now.
        let mut waiting = 0;
        while let Ok(event) = self.events.try_recv() {
            match event {
                Event::Change(change) => {
                    waiting += 1;
                    self.recipes[change.package]
                        .changed(&self.packages[change.package], &change.paths);
                    self.sources[change.package].changed(&change.paths);
                    dirty.insert(change.package, change.seen);
                }
                Event::Stop => return,
                Event::Built { .. } => {}
            }
        }
        let ready = Ready {
            packages: self.packages.iter().map(|p| p.name.clone()).collect(),
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
        if self.outcomes.send(Outcome::Ready(ready)).is_err() {
            return;
        }
        set_pending();
        let mut building: Option<Building> = None;
        loop {
            if building.is_none()
                && let Some((index, seen)) = dirty.pop_first()
            {
                building = Some(self.start_build(index, seen));
                // While it builds: read the type definitions it is built from.
                self.sources[index].refresh();
            }
            let Ok(event) = self.events.recv() else {
                return;
            };
            match event {
                Event::Stop => {
                    if let Some(build) = &building {
                        build.cancel.cancel();
                    }
                    return;
                }
                Event::Change(change) => {
                    tracing::debug!(paths = ?change.paths, "change");
                    if let Some(build) = &mut building
                        && build.index == change.package
                    {
                        // A save during the build: its result would be older
                        // than the files. Stop it and build again.
                        build.stale = true;
                        build.cancel.cancel();
                    }
                    self.recipes[change.package]
                        .changed(&self.packages[change.package], &change.paths);
                    self.sources[change.package].changed(&change.paths);
                    dirty.insert(change.package, change.seen);
                }
                Event::Built {
                    index,
                    recipe,
                    result,
                    turn,
                    started,
                } => {
                    let Some(build) = building.take() else {
                        continue;
                    };
                    if build.stale {
                        tracing::debug!("discarded a build made stale by a newer save");
                        continue;
                    }
                    // No change of this package arrived while it built, so
                    // the build's recipe is current.
                    self.recipes[index] = *recipe;
                    let quick = self.recipes[index].thin.is_some();
                    if quick && matches!(result, Err(Error::Build { .. })) {
                        // A quick build can fail where a full one would not
                        // (a name the pruning could not see): what the user
                        // sees is a full build's verdict.
                        tracing::debug!("quick build failed; a full one");
                        self.full_next[index] = true;
                        self.prune_suspect[index] = self.recipes[index]
                            .thin
                            .as_ref()
                            .is_some_and(|plan| plan.pruned.is_some());
                        drop(turn);
                        dirty.insert(index, build.seen);
                        continue;
                    }
                    let pruning_stopped = build.prune_suspect && result.is_ok();
                    if pruning_stopped && let Some(quick) = &mut self.quick[index] {
                        quick.unprune();
                    }
                    let mut outcome = match result
                        .and_then(|built| self.load(index, build.seen, started, built))
                    {
                        Ok(outcome) => outcome,
                        Err(Error::Refused(refusals))
                            if refusals.iter().any(|r| r.code == QUICK_UNLINKED) =>
                        {
                            tracing::debug!(?refusals, "quick build not linkable; a full one");
                            if let Some(quick) = &mut self.quick[index] {
                                quick.disable();
                            }
                            drop(turn);
                            dirty.insert(index, build.seen);
                            continue;
                        }
                        Err(error) if restart::can_take(&error) => {
                            self.restart_build(index, build.seen, error)
                        }
                        Err(error) => Outcome::Failed(error),
                    };
                    if let Outcome::Built {
                        pruning_stopped: stopped,
                        ..
                    } = &mut outcome
                    {
                        *stopped = pruning_stopped;
                    }
                    // Staged: the next build (of any process) may overwrite
                    // the artifact.
                    drop(turn);
                    if self.outcomes.send(outcome).is_err() {
                        return;
                    }
                    set_pending();
                }
            }
        }
    }

    /// Starts building package `index` on a worker thread.
    fn start_build(&mut self, index: usize, seen: Instant) -> Building {
        let cancel = Arc::new(Cancel::default());
        let package = self.packages[index].clone();
        let mut recipe = self.recipes[index].clone();
        (recipe.thin, recipe.full) = match self.quick[index].as_mut().map(Quick::plan) {
            Some(Ok(plan)) => (Some(plan), None),
            Some(Err(why)) => (None, why.map(|why| why.to_string())),
            None => (None, None),
        };
        if std::mem::take(&mut self.full_next[index]) {
            recipe.thin = None;
            recipe.full = Some("the quick build did not compile".to_string());
        }
        if recipe.thin.is_some() {
            self.sources[index].as_live();
        }
        let prune_suspect = recipe.thin.is_none() && std::mem::take(&mut self.prune_suspect[index]);
        let config = self.config.clone();
        let events = self.events_tx.clone();
        let worker_cancel = Arc::clone(&cancel);
        let started = Instant::now();
        let spawned = std::thread::Builder::new()
            .name("hotreload-build".into())
            .spawn(move || {
                let (result, turn) =
                    published::build_or_take(&config, &package, &mut recipe, &worker_cancel);
                let _ = events.send(Event::Built {
                    index,
                    recipe: Box::new(recipe),
                    result,
                    turn,
                    started,
                });
            });
        if let Err(source) = spawned {
            let _ = self.events_tx.send(Event::Built {
                index,
                recipe: Box::new(self.recipes[index].clone()),
                result: Err(Error::Thread {
                    name: "build",
                    source,
                }),
                turn: None,
                started,
            });
        }
        Building {
            index,
            seen,
            cancel,
            stale: false,
            prune_suspect,
        }
    }

    /// The program's binary built from the sources of a build that was
    /// refused with `because`, for a restart.
    fn restart_build(&self, index: usize, seen: Instant, because: Error) -> Outcome {
        let package_dir = &self.packages[index].manifest_dir;
        let command = match restart::command(&self.config, package_dir) {
            Ok(command) => command,
            Err(error) => return Outcome::Failed(error),
        };
        // Said before the build, which takes seconds.
        let restarting = Restarting {
            because: restart::reason(&because),
            command: format!("cargo {}", command.1.join(" ")),
        };
        if self.outcomes.send(Outcome::Restarting(restarting)).is_ok() {
            set_pending();
        }
        let building = Instant::now();
        match restart::build(&self.config, package_dir, command) {
            Ok(binary) => Outcome::Restart(Box::new(restart::Pending {
                binary,
                because,
                seen,
                build: building.elapsed(),
            })),
            Err(error) => Outcome::Failed(error),
        }
    }

    /// Stages, loads and verifies a finished build.
    fn load(
        &mut self,
        index: usize,
        seen: Instant,
        building: Instant,
        built: Built,
    ) -> Result<Outcome, Error> {
        let package = &self.packages[index];
        let quick = self.recipes[index].thin.is_some();
        let loading = Instant::now();
        // Made at start (see `run`): waits for it if need be.
        let _ = one_copy::share();
        let staged = self.staging.stage(&built.artifact, &package.name)?;
        // SAFETY: the file is our unnamed copy of a build of the package,
        // made by a build here or published by a process of this program
        // for the same sources (`published`), both with our toolchain and
        // settings.
        let loaded = unsafe { load::load(staged, &package.name) }?;
        let verifying = Instant::now();
        self.sources[index].refresh();
        // Before any of its code runs: its thin functions call through the
        // program's slots.
        link_thin(&package.name, &loaded.manifest)?;
        let types = self.sources[index].changes();
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
        let added = !plan.added.is_empty();
        loaded.forward_logging();
        // Before any of its code runs: the new build's hot statics are the
        // program's.
        for (program, new) in &plan.statics {
            // SAFETY: the program's instance of the static of this path,
            // which lives as long as the program, and whose type verify
            // checked is this build's (else HOT014): the same layout
            // fingerprint (name, size and alignment; with
            // `#[derive(Layout)]` every field's name, offset and type), and
            // a type of the package's own sources defined as when the
            // program was built. A type of a path dependency without the
            // derive, changed inside but not in name, size or alignment,
            // passes both: the README's Known problems says so.
            unsafe { new.program.set(&*program.own) };
        }
        let build = Build::new(loaded);
        // Before any of its code runs as hot code: panics in it come to us.
        // SAFETY: this host's hooks; the build's manifest has this
        // layout (its symbol's name carries the version).
        unsafe { build.manifest.host_hooks.set(&HOOKS) };
        let verified = Instant::now();
        Ok(Outcome::Built {
            package: package.name.clone(),
            plan,
            build,
            changed_types: {
                if let Some(quick) = &mut self.quick[index] {
                    quick.went_live();
                    if added {
                        quick.disable();
                    }
                }
                self.sources[index].went_live()
            },
            // A quick build warns about code only the bodies it left out
            // use (`dead_code`); the full builds say what the code has.
            warnings: if quick { 0 } else { built.warnings },
            built_by: built.builder,
            pruning_stopped: false,
            full_build: self.recipes[index].full.clone().filter(|_| !quick),
            timings: Timings {
                saved_at: SystemTime::now() - seen.elapsed(),
                debounce: building - seen,
                build: built.duration,
                load: verifying - loading,
                verify: verified - verifying,
                ..Timings::default()
            },
            verified,
            seen,
        })
    }
}
