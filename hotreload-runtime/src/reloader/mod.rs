//! [`Reloader`]: the public handle. It starts the pipeline and applies its
//! results at the safe point.
//!
//! A reload, top to bottom: [`watch`] sees a saved file -> the pipeline
//! thread (`pipeline`) runs [`build`](crate::build),
//! [`stage`](crate::stage), [`load`](crate::load),
//! [`verify`](crate::verify) and arms the build off the caller's thread
//! -> `update()` ([`delivery`]) [`apply`](crate::apply)s it and
//! [`report`]s. `hooks`: what a panic in hot code calls, on any thread;
//! `background`: `update()` on a thread of its own. `listen`: upgrades
//! pushed to the program (see [`crate::upgrade`]), handed to `update()`
//! the way the pipeline hands its builds.

mod background;
mod delivery;
mod hooks;
mod listen;
mod pipeline;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Condvar, Mutex};

use crate::Error;
use crate::allocator;
use crate::apply::Applied;
use crate::apply::generations;
use crate::build::config::BuildConfig;
use crate::build::package::Package;
use crate::generation::Generation;
use crate::panic::{self, OnPanic};
use crate::registry::ENTRIES;
use crate::report::{self, BeforeReload, OwnStatic, Update};
use crate::restart;
use crate::sources::Snapshot;
use crate::stage::Staging;
use crate::upgrade;
use crate::watch::{self, Watch};

pub use background::Background;
use delivery::Delivery;
use hooks::{APPLIED, lock};
use pipeline::Event;

/// The hot-reload handle. Create it once with [`Reloader::start`] and call
/// [`Reloader::update`] at a point of your loop where no hot function is
/// running; new code takes effect there.
pub struct Reloader {
    inner: Option<Running>,
    report: bool,
}

/// What [`Reloader::before_reload`] installs.
type BeforeHook = Box<dyn FnMut(&BeforeReload) + Send>;

/// What [`Reloader::keep_state`] installs: the state, serialized.
type KeptState = Box<dyn Fn() -> Result<Vec<u8>, String> + Send>;

struct Running {
    deliveries: Receiver<Delivery>,
    /// For the upgrade listener (`accept_upgrades`).
    deliveries_tx: Sender<Delivery>,
    generation: u64,
    /// Set by [`Reloader::before_reload`].
    before: Option<BeforeHook>,
    /// Set by [`Reloader::keep_state`].
    kept: Option<KeptState>,
    /// Set by [`Reloader::before_restart`].
    before_restart: Option<Box<dyn FnMut() + Send>>,
    /// The statics and thread-locals a reload said new code has its own
    /// of: each is told once.
    statics_told: HashSet<OwnStatic>,
    /// The watcher and the pipeline, where the program builds its own
    /// reloads (not in a program deployed without its target directory);
    /// held for its `Drop`.
    _local: Option<Local>,
}

struct Local {
    _watch: Watch,
    /// Tells the pipeline thread to end when the `Reloader` is dropped.
    stop: Sender<Event>,
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.stop.send(Event::Stop);
    }
}

/// Set when a delivery or a panic report is waiting: `update()` with
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
        if let Some(out) = upgrade::make::requested() {
            upgrade::make::make_and_exit(&out, packages);
        }
        let config = match BuildConfig::of_running_program() {
            Ok(config) => config,
            // Deployed: reloads come only as upgrades.
            Err(Error::TargetDir { exe }) => return Ok(Reloader::deployed(&exe)),
            Err(error) => return Err(error),
        };
        config.check_cargo()?;
        hooks::lock_stderr_for_panic_messages();
        let staging = Staging::new()?;
        let (events_tx, events) = mpsc::channel();
        let roots = packages.iter().map(|p| p.manifest_dir.clone()).collect();
        let watch = watch::start(roots, events_tx.clone())?;
        let (deliveries_tx, deliveries) = mpsc::channel();
        lock(&APPLIED).get_or_insert_with(|| Applied::new(&ENTRIES));
        let pipeline = pipeline::Start {
            snapshots: packages
                .iter()
                .map(|package| Snapshot::read(&package.manifest_dir))
                .collect(),
            packages: packages.clone(),
            config,
            staging,
            events,
            events_tx: events_tx.clone(),
            deliveries: deliveries_tx.clone(),
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
        let local = Local {
            _watch: watch,
            stop: events_tx,
        };
        Ok(Reloader::running(deliveries, deliveries_tx, Some(local)))
    }

    /// A handle on its deliveries, with nothing set yet.
    fn running(
        deliveries: Receiver<Delivery>,
        deliveries_tx: Sender<Delivery>,
        local: Option<Local>,
    ) -> Reloader {
        Reloader {
            inner: Some(Running {
                deliveries,
                deliveries_tx,
                generation: 0,
                before: None,
                kept: None,
                before_restart: None,
                statics_told: HashSet::new(),
                _local: local,
            }),
            report: true,
        }
    }

    /// A program that does not sit in a cargo target directory (`exe`):
    /// deployed, with no sources or toolchain to build with. It watches
    /// and builds nothing; new code comes only as upgrades
    /// ([`Reloader::accept_upgrades`]).
    fn deployed(exe: &std::path::Path) -> Reloader {
        tracing::info!(
            "`{}` is not in a cargo target directory: no builds here; new code comes as upgrades \
             (Reloader::accept_upgrades)",
            exe.display()
        );
        hooks::lock_stderr_for_panic_messages();
        lock(&APPLIED).get_or_insert_with(|| Applied::new(&ENTRIES));
        let (deliveries_tx, deliveries) = mpsc::channel();
        Reloader::running(deliveries, deliveries_tx, None)
    }

    /// Takes upgrades pushed to the program (`cargo hotreload push`): new
    /// builds of its hot packages made where it was built, for a program
    /// that runs without cargo, sources or toolchain (a service where it
    /// is deployed; also works beside local builds). Each upgrade is
    /// checked before anything in it is loaded (signed by a key
    /// `upgrades` trusts, made for this very binary, numbered above the
    /// last one taken, well-formed), then verified as any reload, and
    /// applied by `update()` (or the background handle) as any reload.
    /// See [`Upgrades`](crate::Upgrades) and the README's *Upgrading a
    /// service*.
    ///
    /// Fails (`HOT065`) if the socket cannot be made or a key is not
    /// valid. On a handle that is [off](Reloader::off), does nothing.
    pub fn accept_upgrades(self, upgrades: crate::Upgrades) -> Result<Reloader, Error> {
        if let Some(running) = &self.inner {
            listen::start(upgrades, running.deliveries_tx.clone())?;
        }
        Ok(self)
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
        hooks::REPORT_NOW.store(on, Ordering::Relaxed);
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

    /// The state to restart with, for a program that applies reloads in
    /// the background ([`Reloader::in_background`]) and so has no
    /// [`Reloader::update_with`] call to hand it over: when a restart is
    /// due (an edit, or an upgrade that carries a new binary, that no
    /// reload can take), `state` is serialized at that moment and handed
    /// to the new program, as `update_with` does (see
    /// [`Reloader::take_state`]). Calls running then are cut by the
    /// restart; new connections to listeners made with
    /// [`listener`](crate::listener) wait for the new program.
    pub fn keep_state<T>(mut self, state: std::sync::Arc<T>) -> Reloader
    where
        T: serde::Serialize + Send + Sync + 'static,
    {
        if let Some(running) = &mut self.inner {
            running.kept = Some(Box::new(move || {
                rmp_serde::to_vec_named(&*state).map_err(|e| e.to_string())
            }));
        }
        self
    }

    /// Runs `hook` right before a restart with the state (after the new
    /// program took a copy of the state, before the state handed over is
    /// serialized and the process becomes the new program): stop taking
    /// work and let what runs finish, so that no request in flight is cut.
    /// A server stops accepting (axum's `with_graceful_shutdown`) and
    /// returns once its connections are done; listeners made with
    /// [`listener`](crate::listener) stay open meanwhile (the reloader holds
    /// a copy), so new connections wait in them for the new program. The
    /// new binary was run and took the state before the hook runs; if the
    /// `exec` still fails (rare), the program goes on without what the
    /// hook stopped, and the update says why.
    pub fn before_restart(mut self, hook: impl FnMut() + Send + 'static) -> Reloader {
        if let Some(running) = &mut self.inner {
            running.before_restart = Some(Box::new(hook));
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

    /// For a host that, after every reload, makes the callers of these hot
    /// functions anew from the new build (the Bevy plugin `hotreload-bevy`
    /// re-makes its systems from the new build's registration): their
    /// signatures may change (no HOT010). Code the program was built with
    /// keeps calling the code of the old signature; the new build's code
    /// calls the new one. When new code of one of them panics and there is
    /// no earlier code of its signature, the call returns at the panic
    /// (HOT040) and the host puts back the callers it had. Paths as
    /// `crate::module::name`. Process-wide.
    pub fn callers_remade<S: Into<String>>(&self, paths: impl IntoIterator<Item = S>) {
        crate::verify::host::add_remade(paths.into_iter().map(Into::into));
    }

    /// Types the program holds where no hot signature shows them (a Bevy
    /// world's components and resources): a build that changes the
    /// definition of one of them, or of a type in its fields, is refused
    /// (HOT011) naming it. Names as written in the source (`Position`, not
    /// the path; see the README on HOT011). Process-wide.
    pub fn hold_types<S: Into<String>>(&self, names: impl IntoIterator<Item = S>) {
        crate::verify::host::add_held(names.into_iter().map(Into::into));
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
        loaded_generations()
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
                let update = running.take(Some(&|| {
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
                let update = running.take(None);
                if self.report {
                    report::print(&update);
                }
                update
            }
            _ => Update::Idle,
        }
    }
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

/// The program's own code (generation 0) and every build still loaded.
fn loaded_generations() -> Vec<Generation> {
    let mut applied = lock(&APPLIED);
    generations::list(applied.get_or_insert_with(|| Applied::new(&ENTRIES)))
}
