//! Generations: every build that went live is numbered (the program's own
//! code is generation 0) and stays mapped, unless the program asked for
//! old builds to be unloaded ([`Reloader::unload_old_builds`]).
//!
//! What keeps a build's code in use, and so the build mapped:
//!
//! - a hot function whose current code is in it (rolled back to it, or a
//!   newer build without that function);
//! - a call running in it, or a future of one of its hot `async fn`s not
//!   yet dropped: counted per build ([`Calls`], in each build's own copy of
//!   the core crate) once the program asks ([`Reloader::count_calls`]);
//! - what its code handed out and the program kept, which nothing counts:
//!   a function pointer, a closure or trait object (its vtable and drop
//!   glue are the build's code), a `&'static str` or other `'static`
//!   data of the build, a thread or task it spawned that still runs;
//! - thread-locals of its own with destructors (their destructors are its
//!   code, run when a thread ends) and `tracing` callsites it registered
//!   with the program (the program's `tracing` keeps a list of them):
//!   found in the build's imports when it is staged, and such a build is
//!   never unloaded ("pinned").
//!
//! Unloading is opt-in because of the third point: the program has to
//! promise that its hot functions hand out nothing that outlives their
//! call. A build is unloaded when it is older than the newest `keep` of
//! its package, runs no function's current code, was counted from its
//! load on, is not pinned, and has had no call in flight since it stopped
//! being current, for at least [`GRACE`] (a thread that read a slot just
//! before the swap has that long to enter the code it read). Checked at
//! each reload, after the new build is applied. A library `dlclose` does
//! not unmap (checked in `/proc/self/maps`) keeps its file and is reported
//! as pinned.
//!
//! [`Reloader::unload_old_builds`]: crate::Reloader::unload_old_builds
//! [`Reloader::count_calls`]: crate::Reloader::count_calls
//! [`Calls`]: crate::registry::Calls

use std::fs::File;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use libloading::os::unix::Library;

use crate::apply::Applied;
use crate::generation::Generation;
use crate::load::{Loaded, close};
use crate::registry::Manifest;

/// How long a build must have been out of use before it is unloaded.
pub const GRACE: Duration = Duration::from_secs(1);

/// A loaded, verified and armed build (see `apply::arm`): kept loaded
/// from here on, unless unloaded (see the module docs).
pub struct Armed {
    library: Option<Library>,
    file: Option<File>,
    pub manifest: Manifest,
    /// Why it can never be unloaded, if it cannot.
    pinned: Option<String>,
    /// Whether its calls were counted from the start.
    counted: bool,
}

impl Armed {
    /// Takes over a loaded build: from here on its calls are counted if the
    /// program asked for it.
    pub fn new(loaded: Loaded) -> Armed {
        let (library, file, manifest, pinned) = loaded.keep();
        let counted = COUNTING.load(Ordering::Acquire);
        manifest.calls.counting.store(counted, Ordering::Release);
        Armed {
            library: Some(library),
            file: Some(file),
            manifest,
            pinned,
            counted,
        }
    }

    fn implementations(&self) -> impl Iterator<Item = usize> + '_ {
        self.manifest
            .entries
            .iter()
            .map(|entry| entry.slot.original() as usize)
    }
}

impl Drop for Armed {
    /// A build that was never applied: none of its code ran as hot code.
    fn drop(&mut self) {
        if let (Some(library), Some(file)) = (self.library.take(), self.file.take()) {
            // SAFETY: never applied, so no slot points into it and no call
            // runs in it; its manifest is dropped with it.
            let _ = unsafe { close(library, file) };
        }
    }
}

/// Set by [`count_calls`]: builds loaded from then on count their calls.
static COUNTING: AtomicBool = AtomicBool::new(false);

/// Counts calls in flight in every build loaded from now on (and in those
/// loaded already, from now on, though these are then never unloaded).
pub fn count_calls() {
    COUNTING.store(true, Ordering::Release);
    for live in &lock().builds {
        live.build
            .manifest
            .calls
            .counting
            .store(true, Ordering::Release);
    }
}

/// Unloads builds as the module docs say, keeping the newest `keep` (at
/// least 1) of each package.
///
/// # Safety
/// As `Reloader::unload_old_builds`: the program keeps nothing that hot
/// code of a build handed out past the call.
pub unsafe fn unload_old_builds(keep: usize) {
    count_calls();
    lock().keep = Some(keep.max(1));
}

#[derive(Default)]
struct Live {
    builds: Vec<LiveBuild>,
    /// Set by [`unload_old_builds`].
    keep: Option<usize>,
}

struct LiveBuild {
    number: u64,
    package: String,
    build: Armed,
    /// Since when no function runs its code and no call has been seen in
    /// it.
    idle_since: Option<Instant>,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    builds: Vec::new(),
    keep: None,
});

fn lock() -> std::sync::MutexGuard<'static, Live> {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What [`applied`] did.
#[derive(Default)]
pub struct Swept {
    /// Generations unloaded.
    pub unloaded: Vec<u64>,
    /// With unloading on: why the new build will never be unloaded.
    pub pinned: Option<String>,
}

/// Records `build`, just applied as generation `number`; then unloads what
/// can be (see the module docs).
pub fn applied(applied: &mut Applied, number: u64, package: &str, build: Armed) -> Swept {
    let mut live = lock();
    let pinned = build.pinned.clone();
    live.builds.push(LiveBuild {
        number,
        package: package.to_string(),
        build,
        idle_since: None,
    });
    let Some(keep) = live.keep else {
        return Swept::default();
    };
    let now = Instant::now();
    let mut unloaded = Vec::new();
    let mut index = live.builds.len();
    while index > 0 {
        index -= 1;
        let newer = live.builds[index + 1..]
            .iter()
            .filter(|other| other.package == live.builds[index].package)
            .count();
        let candidate = &mut live.builds[index];
        let build = &candidate.build;
        let idle = applied.current_in(build.implementations()) == 0
            && build.manifest.calls.in_flight.load(Ordering::Acquire) == 0;
        if !idle {
            candidate.idle_since = None;
            continue;
        }
        let idle_since = *candidate.idle_since.get_or_insert(now);
        if newer < keep
            || !build.counted
            || build.pinned.is_some()
            || now.duration_since(idle_since) < GRACE
        {
            continue;
        }
        let mut gone = live.builds.remove(index);
        applied.forget(gone.build.implementations(), gone.build.manifest.entries);
        let library = gone.build.library.take().expect("live builds are open");
        let file = gone.build.file.take().expect("live builds are open");
        // SAFETY: no slot points into it any more (`forget` above), no
        // call or future of it has been alive for `GRACE` (counted from
        // its load), and the program promised to keep nothing it handed
        // out (`unload_old_builds` is unsafe for that).
        match unsafe { close(library, file) } {
            Ok(()) => unloaded.push(gone.number),
            Err(reason) => {
                tracing::warn!(
                    "generation {} of `{}` stays loaded: {reason}",
                    gone.number,
                    gone.package
                );
                // Nothing of it is in the slot table any more; it stays
                // listed, pinned.
                gone.build.pinned = Some(reason);
                live.builds.insert(index, gone);
            }
        }
    }
    unloaded.reverse();
    Swept { unloaded, pinned }
}

/// Takes back generation `number` (see [`Applied::revert`]): the package
/// it was a build of, and the functions taken back; `None` if no build of
/// that number is loaded.
pub fn revert(applied: &mut Applied, number: u64) -> Option<(String, Vec<&'static str>)> {
    let live = lock();
    let build = live.builds.iter().find(|live| live.number == number)?;
    let implementations = build.build.implementations().collect();
    Some((build.package.clone(), applied.revert(&implementations)))
}

/// The program's own code and every build still loaded, oldest first.
pub fn list(applied: &Applied) -> Vec<Generation> {
    let live = lock();
    let mut generations = vec![Generation {
        number: 0,
        package: None,
        functions: applied.running_original(),
        in_flight: None,
        pinned: None,
    }];
    generations.extend(live.builds.iter().map(|live| {
        let build = &live.build;
        Generation {
            number: live.number,
            package: Some(live.package.clone()),
            functions: applied.current_in(build.implementations()),
            in_flight: build
                .manifest
                .calls
                .counting
                .load(Ordering::Acquire)
                .then(|| build.manifest.calls.in_flight.load(Ordering::Acquire)),
            pinned: build.pinned.clone(),
        }
    }));
    generations
}
