//! The one error type of the runtime. Every message says what happened,
//! where, and what to do; refused reloads carry a stable `HOT0xx` code
//! (listed in the README).

use std::fmt;
use std::path::PathBuf;

/// What went wrong. Nothing here stops the program: a failed or refused
/// reload leaves the last good code running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `cargo` could not be started.
    #[error(
        "HOT002 cannot run `{cargo}`: {source}. Install cargo or set the CARGO environment \
         variable to its path; the program keeps running the code it started with"
    )]
    CargoMissing {
        /// The cargo that was run (`CARGO`, else `cargo` on `PATH`).
        cargo: PathBuf,
        /// Why it could not be started.
        #[source]
        source: std::io::Error,
    },

    /// The running program does not sit in a cargo target directory.
    #[error(
        "HOT003 cannot tell which cargo target directory built `{exe}` (no CACHEDIR.TAG above \
         it). Start the program with `cargo run`, or set CARGO_TARGET_DIR"
    )]
    TargetDir {
        /// The running executable.
        exe: PathBuf,
    },

    /// A source directory could not be watched.
    #[error(
        "HOT004 cannot watch `{path}` for changes: {message}. Check that the directory exists \
         and the inotify limits (/proc/sys/fs/inotify/max_user_watches)"
    )]
    Watch {
        /// The directory.
        path: PathBuf,
        /// The watcher's reason.
        message: String,
    },

    /// The file watcher itself could not be created.
    #[error(
        "HOT007 cannot start the file watcher: {message}. Check the inotify limits \
         (/proc/sys/fs/inotify/max_user_instances)"
    )]
    Watcher {
        /// The watcher's reason.
        message: String,
    },

    /// A thread of the reloader could not be started.
    #[error(
        "HOT008 cannot start the reloader's {name} thread: {source}. The system is out of \
         threads or memory; the program keeps running the code it has"
    )]
    Thread {
        /// Which thread.
        name: &'static str,
        /// Why it could not be started.
        #[source]
        source: std::io::Error,
    },

    /// The compiler of a direct build (the rustc command cargo ran before)
    /// could not be started.
    #[error(
        "HOT009 cannot run the compiler `{program}`: {source}. It ran for the last cargo build; \
         if the toolchain was removed or updated, restart the program"
    )]
    CompilerMissing {
        /// The compiler cargo ran.
        program: PathBuf,
        /// Why it could not be started.
        #[source]
        source: std::io::Error,
    },

    /// The build process was started but could not be waited for.
    #[error(
        "HOT024 lost track of the build process `{program}`: {source}. The program keeps \
         running the last good code; save again to rebuild"
    )]
    BuildLost {
        /// The build command.
        program: PathBuf,
        /// Why it could not be waited for.
        #[source]
        source: std::io::Error,
    },

    /// Builds cannot be staged (copied before loading).
    #[error("HOT005 cannot stage builds: {0}. Set TMPDIR to a directory of this user's")]
    Staging(String),

    /// The compiler rejected the edit.
    #[error(
        "HOT001 build of `{package}` failed; the program keeps running the last good code. \
         Fix the error and save again.\n{rendered}"
    )]
    Build {
        /// The package that failed to build.
        package: String,
        /// The compiler's errors, rendered as cargo shows them.
        rendered: String,
    },

    /// The package has no library target, the only target rebuilt.
    #[error(
        "HOT006 `{package}` has no library: hot functions in a binary (`src/main.rs`) are not \
         reloaded, only a package's library is rebuilt. Move them into `src/lib.rs` and call \
         them from `main` (see the README's Quickstart)"
    )]
    NoLibrary {
        /// The package.
        package: String,
    },

    /// A save changed only a binary's sources, which no build reloads.
    #[error(
        "HOT016 `{file}` is the binary's: its code is not reloaded, only the library of \
         `{package}` (`src/lib.rs` and its modules) is rebuilt. Restart to run it; move code \
         you want to reload into the library"
    )]
    BinaryChanged {
        /// The package.
        package: String,
        /// The file saved, relative to the package.
        file: String,
    },

    /// Cargo ran but produced no library to load.
    #[error("HOT006 cargo built `{package}` but reported no cdylib artifact: {detail}")]
    NoArtifact {
        /// The package built.
        package: String,
        /// What cargo reported instead.
        detail: String,
    },

    /// The new build could not be loaded.
    #[error("HOT020 cannot load the new build of `{package}` from `{path}`: {message}")]
    Load {
        /// The package whose build it is.
        package: String,
        /// The file that was loaded.
        path: PathBuf,
        /// The dynamic loader's message (`dlerror`).
        message: String,
    },

    /// The file to load is not one this user's cargo wrote and only this
    /// user can change.
    #[error(
        "HOT022 refused to load the build of `{package}` at `{path}`: {reason}. Only files \
         that the runtime's own cargo wrote and that no other user can change are loaded; the \
         program keeps running the last good code"
    )]
    Untrusted {
        /// The package whose build it is.
        package: String,
        /// The file.
        path: PathBuf,
        /// Who owns it or can write it.
        reason: String,
    },

    /// The built file is truncated or not a library for this platform.
    #[error(
        "HOT023 the build of `{package}` at `{path}` is damaged: {reason}. Nothing was loaded; \
         the program keeps running the last good code. Save again to rebuild (if it repeats, \
         run `cargo clean -p {package}`)"
    )]
    Damaged {
        /// The package whose build it is.
        package: String,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The new build has no manifest this runtime can read.
    #[error(
        "HOT021 the new build of `{package}` has no hotreload manifest: {message}. The running \
         code is kept. Check that `{package}` still uses hotreload-runtime (has #[hot] \
         functions) and depends on it at the same version as the running program"
    )]
    NoManifest {
        /// The package whose build it is.
        package: String,
        /// Why the manifest could not be read.
        message: String,
    },

    /// The new build was made with another compiler, target or profile.
    #[error(
        "HOT030 the new build of `{package}` was made with a different {what}: running \
         program `{old}`, new build `{new}`. Restart the program to use the new toolchain"
    )]
    BuildMismatch {
        /// The package whose build it is.
        package: String,
        /// `compiler`, `target` or `profile`.
        what: &'static str,
        /// The running program's.
        old: String,
        /// The new build's.
        new: String,
    },

    /// The program allocates with a custom global allocator that a reloaded
    /// build would not share.
    #[error(
        "HOT031 this program's #[global_allocator] does not use the system allocator; code \
         loaded from a rebuilt library would allocate with the system allocator and free the \
         program's memory with the wrong one. Hot reload is off for this run: use the default \
         allocator while reloading, e.g. `#[cfg(not(debug_assertions))]` on the \
         `#[global_allocator]` static"
    )]
    CustomAllocator,

    /// A restart with the program's state (see `Reloader::update_with`)
    /// could not be made.
    #[error(
        "HOT050 cannot restart the program with its state: {message}. It keeps running the old \
         code with its data: undo the change, or restart it by hand"
    )]
    Restart {
        /// Why: the field that does not fit, the build that failed, or
        /// what the new program did.
        message: String,
    },

    /// Bytes pushed as an upgrade are not a well-formed upgrade file.
    #[error(
        "HOT060 refused the upgrade: {reason}. Nothing was loaded; make it again with `cargo \
         hotreload upgrade` and push the whole file"
    )]
    UpgradeMalformed {
        /// What is wrong, and where.
        reason: String,
    },

    /// An upgrade not signed by a key the program trusts, or changed since
    /// it was signed.
    #[error(
        "HOT061 refused the upgrade: {reason}. Nothing was loaded; push the whole file, made \
         with a key the program trusts (`Upgrades::trust`)"
    )]
    UpgradeUntrusted {
        /// Which key, and what did not match.
        reason: String,
    },

    /// An upgrade made for another binary.
    #[error(
        "HOT062 refused the upgrade: it was made for the binary with build id {made_for}, and \
         this program is {running}. Nothing was loaded; make the upgrade with the very binary \
         that runs (`cargo hotreload upgrade --binary <it>`)"
    )]
    UpgradeWrongBinary {
        /// The build id the upgrade names.
        made_for: String,
        /// This program's build id.
        running: String,
    },

    /// An upgrade whose sequence number is not above the last one taken:
    /// an old upgrade pushed again.
    #[error(
        "HOT063 refused the upgrade: its sequence number {sequence} is not above {last}, the \
         last one this program took (an old upgrade pushed again?). Nothing was loaded; to go \
         back, use `cargo hotreload rollback`"
    )]
    UpgradeReplayed {
        /// The pushed upgrade's.
        sequence: u64,
        /// The last one applied.
        last: u64,
    },

    /// A rollback with no upgrade to take back.
    #[error("HOT064 nothing to roll back: no upgrade that went live is left to take back")]
    NothingToRollBack,

    /// The upgrade socket could not be set up, or a request on it refused.
    #[error("HOT065 upgrades: {message}")]
    UpgradeSocket {
        /// What, where, and why.
        message: String,
    },

    /// Some functions of the new build cannot replace the running ones.
    #[error("{}", Refusals(.0))]
    Refused(Vec<Refusal>),
}

impl Error {
    /// The stable code at the start of the message (`HOT001`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Build { .. } => "HOT001",
            Error::CargoMissing { .. } => "HOT002",
            Error::TargetDir { .. } => "HOT003",
            Error::Watch { .. } => "HOT004",
            Error::Staging(_) => "HOT005",
            Error::NoArtifact { .. } | Error::NoLibrary { .. } => "HOT006",
            Error::Watcher { .. } => "HOT007",
            Error::Thread { .. } => "HOT008",
            Error::CompilerMissing { .. } => "HOT009",
            Error::BinaryChanged { .. } => "HOT016",
            Error::BuildLost { .. } => "HOT024",
            Error::Load { .. } => "HOT020",
            Error::NoManifest { .. } => "HOT021",
            Error::Untrusted { .. } => "HOT022",
            Error::Damaged { .. } => "HOT023",
            Error::BuildMismatch { .. } => "HOT030",
            Error::CustomAllocator => "HOT031",
            Error::Restart { .. } => "HOT050",
            Error::UpgradeMalformed { .. } => "HOT060",
            Error::UpgradeUntrusted { .. } => "HOT061",
            Error::UpgradeWrongBinary { .. } => "HOT062",
            Error::UpgradeReplayed { .. } => "HOT063",
            Error::NothingToRollBack => "HOT064",
            Error::UpgradeSocket { .. } => "HOT065",
            Error::Refused(refusals) => refusals.first().map_or("HOT010", |r| r.code),
        }
    }
}

/// Why one function of a new build cannot replace the running one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `HOT010` (signature), `HOT011` (layout) or `HOT014` (a hot static's
    /// type).
    pub code: &'static str,
    /// The function's stable path.
    pub function: String,
    /// What differs and what to do.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`: {}", self.code, self.function, self.message)
    }
}

struct Refusals<'a>(&'a [Refusal]);

impl fmt::Display for Refusals<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reload refused, nothing was swapped; the program keeps running the last good code"
        )?;
        for refusal in self.0 {
            write!(f, "\n  {refusal}")?;
        }
        Ok(())
    }
}
