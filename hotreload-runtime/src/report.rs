//! Stage 7, report: what `Reloader::update()` returns, and the default
//! reporter's one line per reload on stderr.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::panic::PanickedCall;

/// What happened at this safe point.
#[derive(Debug)]
#[non_exhaustive]
pub enum Update {
    /// Nothing new since the last call.
    Idle,
    /// A new build of a package is live.
    Reloaded(Box<Reload>),
    /// A build failed or was refused. The program keeps running the last
    /// good code; the next good save reloads.
    Failed(Error),
    /// Reloaded code panicked (see [`OnPanic`](crate::OnPanic)).
    Panicked(HotPanic),
    /// Hot reload is ready: the start-up build is done, and an edit now
    /// reloads at full speed. Once, first.
    Ready(Ready),
    /// An operator rolled back an upgrade (`cargo hotreload rollback`):
    /// the functions it changed run the code they ran before it.
    Reverted(Reverted),
    /// An edit no reload can take, in a program that keeps its state
    /// (`Reloader::update_with`): the program is being built from the new
    /// sources, to restart into with its state once built.
    Restarting(Restarting),
}

/// What [`Update::Reverted`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reverted {
    /// The generation taken back (it stays loaded; nothing runs it).
    pub generation: u64,
    /// Its package.
    pub package: String,
    /// The hot functions that run the code before it again.
    pub functions: Vec<String>,
}

impl fmt::Display for Reverted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rolled back generation {} of `{}`: {}",
            self.generation,
            self.package,
            match self.functions.len() {
                0 => "no function changed back".to_string(),
                1 => format!(
                    "{} runs the code it ran before",
                    short_names(&self.functions)
                ),
                _ => format!(
                    "{} run the code they ran before",
                    short_names(&self.functions)
                ),
            }
        )
    }
}

/// What [`Update::Restarting`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Restarting {
    /// Why no reload can take the edit: the refusal (HOT010, HOT011,
    /// HOT014), its first sentence.
    pub because: String,
    /// The cargo command that builds the new program.
    pub command: String,
}

impl fmt::Display for Restarting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; restarting with the state: building the program (`{}`)",
            self.because, self.command
        )
    }
}

/// What [`Update::Ready`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ready {
    /// The packages watched and rebuilt.
    pub packages: Vec<String>,
    /// How many hot functions the program has.
    pub functions: usize,
    /// How long the start-up build took.
    pub warm_up: Duration,
    /// Packages whose start-up build failed, with the message: their first
    /// edit builds from scratch.
    pub failed: Vec<(String, String)>,
    /// Saves made during the start-up build, built now.
    pub waiting: usize,
    /// Why reloaded code gets its own copies of `std` and of the
    /// dependencies instead of the program's (a stripped program, another
    /// platform), if it does; see the README's *One copy*.
    pub own_copies: Option<String>,
}

impl fmt::Display for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ready: watching {} ({}), start-up build {} ms",
            self.packages.join(", "),
            counted(self.functions, "hot function"),
            self.warm_up.as_millis()
        )?;
        if self.waiting > 0 {
            write!(
                f,
                "; building {} made meanwhile",
                counted(self.waiting, "save")
            )?;
        }
        for (package, message) in &self.failed {
            let first_line = message.lines().next().unwrap_or_default();
            write!(
                f,
                "; the start-up build of `{package}` failed ({first_line})"
            )?;
        }
        if let Some(reason) = &self.own_copies {
            write!(
                f,
                "; reloaded code gets its own std and dependencies ({reason})"
            )?;
        }
        Ok(())
    }
}

/// A panic in reloaded code (`HOT040`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HotPanic {
    /// The hot function whose code panicked.
    pub function: String,
    /// The panic message.
    pub message: String,
    /// Whether the function was restored to the code it ran before.
    pub rolled_back: bool,
    /// What became of the call that panicked, once rolled back.
    pub call: PanickedCall,
}

impl fmt::Display for HotPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HOT040 `{}` panicked: {}; ", self.function, self.message)?;
        if !self.rolled_back {
            return write!(f, "the panic continues in the program (OnPanic::Propagate)");
        }
        let call = match self.call {
            PanickedCall::Retried => "the call was retried with it",
            PanickedCall::Returned => {
                "the call returned at the panic (what it changed before it stays changed)"
            }
            PanickedCall::Panicked => {
                "the call goes on as a panic in its caller (`hotreload_runtime::RolledBack`): it \
                 cannot be made again (an argument is passed by value, its result borrows from a \
                 `&mut` one or is an `async fn`'s that borrows, or it is an `unsafe fn`)"
            }
        };
        write!(
            f,
            "rolled back to the code it ran before, and {call}. Fix the panic and save again"
        )
    }
}

impl Update {
    /// The reload, if new code went live.
    pub fn reloaded(&self) -> Option<&Reload> {
        match self {
            Update::Reloaded(reload) => Some(reload),
            _ => None,
        }
    }
}

/// A generation that went live.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Reload {
    /// The package that was rebuilt.
    pub package: String,
    /// Counts builds that went live, from 1.
    pub generation: u64,
    /// Hot functions whose own source changed.
    pub changed: Vec<String>,
    /// Hot functions now running code from this build.
    pub swapped: usize,
    /// Hot functions the new build no longer has; they keep their old code.
    pub missing: Vec<String>,
    /// Hot functions new in this build (the program was not built with
    /// them, and no earlier build had them): the new build's code calls
    /// them; the program's own code does after a restart.
    pub added: Vec<String>,
    /// Hot functions whose new code is the code that panicked and was
    /// rolled back: they keep the code they were rolled back to until
    /// their source changes.
    pub kept_rolled_back: Vec<String>,
    /// Paths more than one hot function has (`HOT013`): those keep the
    /// code they were built with.
    pub ambiguous: Vec<String>,
    /// Compiler warnings in the build.
    pub warnings: usize,
    /// The process that built it, when another process of the program
    /// did (processes sharing a target directory build each save once).
    pub built_by: Option<u32>,
    /// The sequence number of the upgrade it came in, for a build pushed
    /// to the program (`Reloader::accept_upgrades`) rather than built here.
    pub upgrade: Option<u64>,
    /// Hot functions a quick build left to the code they ran (their body
    /// did not change; see the README's *Many hot functions*); 0 for a
    /// full build.
    pub left_out: usize,
    /// A quick build of pruned sources (see the README's *Many hot
    /// functions*) did not compile where this full build of the same
    /// sources did: pruning missed a name (one another crate's macro
    /// writes, or a macro pastes together), and the package's quick builds compile
    /// every item from now on.
    pub pruning_stopped: bool,
    /// Why this build compiled every hot function, when one could not
    /// leave the unchanged ones to the program (the first build since
    /// start when the program was not built from the sources it started
    /// with, a change outside hot bodies: see the README's *Many hot
    /// functions*).
    pub full_build: Option<String>,
    /// Types of the package defined differently since the last reload
    /// (added or removed included); only types no hot function's signature
    /// reaches can change in a reload (see `HOT011`).
    pub changed_types: Vec<String>,
    /// Of `changed_types`, those whose `TypeId` stayed the same: only their
    /// fields' types (or a discriminant) changed, not their names, order,
    /// `repr` or generics, which are what the compiler hashes. A value of
    /// one that the program already holds by `TypeId` (in an ECS world such
    /// as `hecs`, a `Box<dyn Any>`, a type map) is found by new code and
    /// read with the new layout; a value of any other changed type is not
    /// found at all (its `TypeId` is new). `Reloader::hold_types` refuses a
    /// build that changes a type the program holds (HOT011).
    pub same_type_id: Vec<String>,
    /// Plain functions and constants this build changed or added
    /// (`Player::heal`) when no hot function calls or names any of them:
    /// no new code runs them, and the program's own calls keep the code it
    /// was built with (a method of a `#[hot]` impl that cannot be hot, one
    /// taking `impl Trait`, is such a function).
    pub unreached: Vec<String>,
    /// Older generations unloaded after this one went live (only with
    /// `Reloader::unload_old_builds`).
    pub unloaded: Vec<u64>,
    /// With unloading on: why this build will never be unloaded, if it will
    /// not (it has thread-locals with destructors, or `tracing` callsites).
    pub pinned: Option<String>,
    /// Statics and thread-locals of the package (or a path dependency)
    /// that this build's code has instances of its own of, started from
    /// their initial values, not the program's (see the README's
    /// *Statics*): each named once a run, by the first build that has it.
    pub own_statics: Vec<OwnStatic>,
    /// Where the time went, from the save to the swap.
    pub timings: Timings,
}

/// A `static` or `thread_local!` that a build's code has an instance of
/// its own of ([`Reload::own_statics`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct OwnStatic {
    /// Its path: `game::FRAMES`, `game::rules::step::ONCE`.
    pub path: String,
    /// A `thread_local!`, not a `static`.
    pub thread_local: bool,
}

/// What a reload is about to change, for the hook of
/// `Reloader::before_reload`: it runs at the safe point, just before the
/// new code is swapped in (the old code still runs while it does).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BeforeReload {
    /// The package rebuilt.
    pub package: String,
    /// The generation it will be.
    pub generation: u64,
    /// Hot functions whose source changed.
    pub changed: Vec<String>,
    /// As [`Reload::changed_types`].
    pub changed_types: Vec<String>,
}

/// Where the time of one reload went, stage by stage. The stages add up to
/// `total`: from the first file event of the save that was built to the new
/// code going live in `update()`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Timings {
    /// Wall-clock time of the file event, to compare with the time an
    /// editor (or a benchmark) saved the file.
    pub saved_at: SystemTime,
    /// From the file event to the build starting: the debounce window, and
    /// any build of an earlier save still running.
    pub debounce: Duration,
    /// The build (cargo, the captured rustc command run directly, or
    /// taking another process's build): from its start to its end.
    pub build: Duration,
    /// Checking and copying the artifact, and `dlopen`.
    pub load: Duration,
    /// Comparing the new build's manifest with the running program's.
    pub verify: Duration,
    /// From verified to the program's next `update()` call.
    pub wait: Duration,
    /// Pointing the slots at the new code.
    pub apply: Duration,
    /// From the file event to the new code going live.
    pub total: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            saved_at: SystemTime::UNIX_EPOCH,
            debounce: Duration::ZERO,
            build: Duration::ZERO,
            load: Duration::ZERO,
            verify: Duration::ZERO,
            wait: Duration::ZERO,
            apply: Duration::ZERO,
            total: Duration::ZERO,
        }
    }
}

impl fmt::Display for Reload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.headline(f)?;
        self.functions(f)?;
        self.how_built(f)
    }
}

impl Reload {
    /// What went live, and how long it took.
    fn headline(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_millis();
        if self.changed.is_empty() {
            write!(
                f,
                "rebuilt `{}` (generation {}, build {} ms): no #[hot] function changed; code \
                 they call is up to date",
                self.package,
                self.generation,
                ms(self.timings.build)
            )?;
        } else {
            write!(
                f,
                "reloaded {} (generation {}) in {} ms, build {} ms",
                short_names(&self.changed),
                self.generation,
                ms(self.timings.total),
                ms(self.timings.build)
            )?;
        }
        if let Some(pid) = self.built_by {
            write!(f, " (built by process {pid})")?;
        }
        if let Some(sequence) = self.upgrade {
            write!(f, " (upgrade {sequence})")?;
        }
        if self.warnings > 0 {
            write!(f, " ({})", counted(self.warnings, "warning"))?;
        }
        Ok(())
    }

    /// The functions that did not simply take the new code.
    fn functions(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.missing.is_empty() {
            write!(
                f,
                "; HOT012 no longer in the source, still running the old code: {}",
                short_names(&self.missing)
            )?;
        }
        if !self.added.is_empty() {
            write!(
                f,
                "; new #[hot] functions (the program's own code calls them only after a \
                 restart): {}",
                short_names(&self.added)
            )?;
        }
        if !self.ambiguous.is_empty() {
            write!(
                f,
                "; HOT013 more than one #[hot] function has the path (declared inside other \
                 functions?), so they keep their code; rename one: {}",
                short_names(&self.ambiguous)
            )?;
        }
        if !self.kept_rolled_back.is_empty() {
            write!(
                f,
                "; still rolled back (the new build has the code that panicked): {}",
                short_names(&self.kept_rolled_back)
            )?;
        }
        Ok(())
    }

    /// Quick or full, what changed besides functions, what was unloaded.
    fn how_built(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.left_out > 0 {
            write!(
                f,
                "; quick build, {} unchanged left as they were",
                self.left_out
            )?;
        }
        if let Some(why) = &self.full_build
            && !self.pruning_stopped
        {
            write!(f, "; full build: {why}")?;
        }
        if self.pruning_stopped {
            write!(
                f,
                "; built in full: the pruned quick build did not compile (a name it cannot \
                 see, written by another crate's macro or pasted together), so quick builds compile \
                 every item from now on"
            )?;
        }
        if !self.changed_types.is_empty() {
            write!(f, "; types changed: {}", self.changed_types.join(", "))?;
            let held = "a value the program already holds by type (in an ECS world, a \
                        `dyn Any`)";
            let refuse = "`Reloader::hold_types` refuses changes to the types it holds";
            if self.same_type_id.is_empty() {
                write!(
                    f,
                    " ({held} has the old `TypeId`: new code does not find it; {refuse})"
                )?;
            } else {
                write!(
                    f,
                    " ({} kept {} `TypeId` with fields of other types: {held} is read with the \
                     new layout; {refuse})",
                    quoted(&self.same_type_id),
                    if self.same_type_id.len() == 1 {
                        "its"
                    } else {
                        "their"
                    },
                )?;
            }
        }
        if !self.unreached.is_empty() {
            let them = if self.unreached.len() == 1 {
                "it"
            } else {
                "them"
            };
            write!(
                f,
                "; no #[hot] function calls {}: the program's own calls keep the code it was \
                 built with (call {them} from a #[hot] function, or make {them} #[hot])",
                quoted(&self.unreached),
            )?;
        }
        if !self.unloaded.is_empty() {
            let numbers: Vec<String> = self.unloaded.iter().map(u64::to_string).collect();
            write!(f, "; unloaded generation {}", numbers.join(", "))?;
        }
        if let Some(reason) = &self.pinned {
            write!(f, "; this build stays loaded: {reason}")?;
        }
        if !self.own_statics.is_empty() {
            write!(
                f,
                "; new code has its own {}, started again from the initial value, not the \
                 program's (a `#[hot] static` is shared: see the README's Statics)",
                listed(&self.own_statics)
            )?;
        }
        Ok(())
    }
}

/// `static `game::FRAMES`, thread-local `game::LOCAL` and ...`.
fn listed(statics: &[OwnStatic]) -> String {
    and_joined(
        (statics.iter())
            .map(|own| {
                let kind = if own.thread_local {
                    "thread-local"
                } else {
                    "static"
                };
                format!("{kind} `{}`", own.path)
            })
            .collect(),
    )
}

/// `` `Vel`, `Pos` and `Tally` ``.
fn quoted(names: &[String]) -> String {
    and_joined(names.iter().map(|name| format!("`{name}`")).collect())
}

/// `a, b and c`.
fn and_joined(mut named: Vec<String>) -> String {
    let last = named.pop().unwrap_or_default();
    if named.is_empty() {
        return last;
    }
    format!("{} and {last}", named.join(", "))
}

/// `game::rules::step` -> `rules::step`: enough to recognize, short enough
/// for one line.
fn short_names(paths: &[String]) -> String {
    paths
        .iter()
        .map(|path| {
            path.split_once("::")
                .map_or(path.as_str(), |(_, rest)| rest)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The line the default reporter prints (without its `[hotreload]`
/// prefix); empty for `Idle`. A full-screen program turns the default
/// reporter off and shows this line itself.
impl fmt::Display for Update {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Update::Idle => Ok(()),
            Update::Reloaded(reload) => reload.fmt(f),
            Update::Failed(error) => error.fmt(f),
            Update::Panicked(panic) => panic.fmt(f),
            Update::Ready(ready) => ready.fmt(f),
            Update::Restarting(restarting) => restarting.fmt(f),
            Update::Reverted(reverted) => reverted.fmt(f),
        }
    }
}

/// `1 save`, `2 saves`.
fn counted(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// The default reporter: one line per event on stderr. A panic was told
/// when it happened (`reloader::hooks`), before the program could end of it.
pub fn print(update: &Update) {
    if !matches!(update, Update::Idle | Update::Panicked(_)) {
        eprintln!("[hotreload] {update}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reload(changed: &[&str]) -> Reload {
        Reload {
            package: "game".into(),
            generation: 3,
            changed: changed.iter().map(|s| s.to_string()).collect(),
            swapped: 2,
            missing: vec![],
            added: vec![],
            kept_rolled_back: vec![],
            ambiguous: vec![],
            warnings: 0,
            built_by: None,
            upgrade: None,
            unloaded: Vec::new(),
            pinned: None,
            own_statics: Vec::new(),
            changed_types: Vec::new(),
            same_type_id: Vec::new(),
            unreached: Vec::new(),
            left_out: 0,
            pruning_stopped: false,
            full_build: None,
            timings: Timings {
                build: Duration::from_millis(120),
                load: Duration::from_millis(3),
                total: Duration::from_millis(150),
                ..Timings::default()
            },
        }
    }

    #[test]
    fn a_reload_names_what_changed_and_how_long_it_took() {
        let line = reload(&["game::rules::step"]).to_string();
        assert_eq!(
            line,
            "reloaded rules::step (generation 3) in 150 ms, build 120 ms"
        );
    }

    #[test]
    fn a_reload_names_the_statics_new_code_has_its_own_of() {
        let mut reload = reload(&["game::step"]);
        let own = |path: &str, thread_local| OwnStatic {
            path: path.into(),
            thread_local,
        };
        reload.own_statics = vec![
            own("game::FRAMES", false),
            own("game::LOCAL", true),
            own("game::step::ONCE", false),
        ];
        assert_eq!(
            reload.to_string(),
            "reloaded step (generation 3) in 150 ms, build 120 ms; new code has its own static \
             `game::FRAMES`, thread-local `game::LOCAL` and static `game::step::ONCE`, started \
             again from the initial value, not the program's (a `#[hot] static` is shared: see \
             the README's Statics)"
        );
    }

    #[test]
    fn a_reload_says_what_a_changed_type_means_for_values_held_by_type() {
        let mut reload = reload(&["game::step"]);
        reload.changed_types = vec!["Tally".into(), "Vel".into()];
        let line = reload.to_string();
        assert!(
            line.ends_with(
                "; types changed: Tally, Vel (a value the program already holds by type (in an \
                 ECS world, a `dyn Any`) has the old `TypeId`: new code does not find it; \
                 `Reloader::hold_types` refuses changes to the types it holds)"
            ),
            "{line}"
        );
        reload.same_type_id = vec!["Vel".into()];
        let line = reload.to_string();
        assert!(
            line.ends_with(
                "; types changed: Tally, Vel (`Vel` kept its `TypeId` with fields of other \
                 types: a value the program already holds by type (in an ECS world, a `dyn Any`) \
                 is read with the new layout; `Reloader::hold_types` refuses changes to the types \
                 it holds)"
            ),
            "{line}"
        );
    }

    #[test]
    fn a_rebuild_names_the_changed_functions_no_hot_function_calls() {
        let mut reload = reload(&[]);
        reload.unreached = vec!["Sim::apply".into()];
        assert_eq!(
            reload.to_string(),
            "rebuilt `game` (generation 3, build 120 ms): no #[hot] function changed; code they \
             call is up to date; no #[hot] function calls `Sim::apply`: the program's own calls \
             keep the code it was built with (call it from a #[hot] function, or make it #[hot])"
        );
    }

    #[test]
    fn the_ready_line_says_what_is_watched_and_what_waits() {
        let ready = Ready {
            packages: vec!["game".into(), "logic".into()],
            functions: 14,
            warm_up: Duration::from_millis(1250),
            failed: vec![("logic".into(), "HOT001 build failed\nerror: ...".into())],
            waiting: 1,
            own_copies: Some("only on x86-64 Linux with glibc".into()),
        };
        assert_eq!(
            ready.to_string(),
            "ready: watching game, logic (14 hot functions), start-up build 1250 ms; building \
             1 save made meanwhile; the start-up build of `logic` failed (HOT001 build \
             failed); reloaded code gets its own std and dependencies (only on x86-64 Linux \
             with glibc)"
        );
    }

    #[test]
    fn a_build_without_hot_changes_says_so() {
        let line = reload(&[]).to_string();
        assert!(line.contains("no #[hot] function changed"), "{line}");
        assert!(!line.starts_with("reloaded"), "{line}");
    }
}
