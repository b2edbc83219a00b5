//! The upgrade listener: a thread that takes requests on the program's
//! upgrade socket, one connection at a time (see [`crate::upgrade`]).
//!
//! The protocol is one request line, then (for `push`) the file's bytes,
//! and one answer: lines of text, the first starting with `ok` or with
//! `err HOT0xx`; the listener closes the connection after it.
//!
//! ```text
//! push <length>\n<length bytes>   -> ok applied `service` as generation 3 (upgrade 7) ...
//! rollback\n                      -> ok rolled back generation 3 of `service` ...
//! status\n                        -> ok upgrade 7 is the newest taken\n generation 0 ...
//! ```
//!
//! A push is checked in full (peer, signature, layout, binary, sequence)
//! before any of it touches the disk; then its libraries are loaded, and
//! each build is staged, loaded, verified and armed here, as the pipeline
//! does with a build of its own, and handed to `update()`, which applies
//! it. The answer waits for that (a program that calls `update()` from its
//! loop applies it at the next iteration).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant, SystemTime};

use ed25519_dalek::VerifyingKey;
use libloading::os::unix::Library;

use crate::Error;
use crate::apply::arm;
use crate::load;
use crate::registry::{ENTRIES, Manifest};
use crate::report::Timings;
use crate::restart;
use crate::stage::{Staged, Staging, one_copy};
use crate::upgrade::Upgrades;
use crate::upgrade::file::{Invalid, Kind, Signed, hex, public_key};
use crate::verify;
use crate::verify::types::{Changes, TypeChanges};

use super::delivery::{Delivery, Verified};
use super::hooks::HOOKS;
use super::{loaded_generations, set_pending};

/// The largest upgrade taken: a build with its libraries is tens of MB.
const MAX_UPGRADE: u64 = 1 << 31;
/// How long a connection may take to send its whole request.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an answer waits for `update()` to apply a build.
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an answer waits for a restart to be under way: longer than
/// the new program's check of the state may take (`restart`).
const RESTART_TIMEOUT: Duration = Duration::from_secs(90);

/// Generation applied -> what `update()` says when it applied it.
pub type Applied = Sender<u64>;
/// What `update()` says after a rollback.
pub type RolledBack = Sender<Result<String, Error>>;

/// The listener thread's state.
struct Listener {
    socket: UnixListener,
    trusted: Vec<VerifyingKey>,
    /// This program's build id.
    binary: Vec<u8>,
    staging: Staging,
    deliveries: Sender<Delivery>,
    /// The sequence number of the last upgrade taken.
    last: Option<u64>,
    /// The builds of upgrades that went live (or will, at the next
    /// `update()`) and were not rolled back, oldest first.
    live: Vec<Live>,
    /// Libraries loaded for builds, by file name: kept for the process.
    libraries: Vec<(String, Library, Staged)>,
    /// A restart into an upgrade's binary, waiting for its answer to be
    /// sent.
    restarting: Option<Sender<()>>,
}

/// A build of an upgrade handed to `update()`.
struct Live {
    /// Its generation, once `update()` applied it.
    generation: Option<u64>,
    /// Where `update()` says it, until it did.
    applied: Option<mpsc::Receiver<u64>>,
    sequence: u64,
}

impl Live {
    /// Its generation, waiting up to `timeout` for `update()` to apply it.
    fn generation_within(&mut self, timeout: Duration) -> Option<u64> {
        if self.generation.is_none()
            && let Some(applied) = &self.applied
            && let Ok(generation) = applied.recv_timeout(timeout)
        {
            self.generation = Some(generation);
            self.applied = None;
        }
        self.generation
    }
}

/// Starts listening as `upgrades` says, handing builds to `deliveries`.
pub fn start(upgrades: Upgrades, deliveries: Sender<Delivery>) -> Result<(), Error> {
    let setup = |message: String| Error::UpgradeSocket { message };
    let trusted = (upgrades.trusted.iter())
        .map(|key| public_key(key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| setup(format!("a trusted key is not valid: {e}")))?;
    if trusted.is_empty() {
        return Err(setup(
            "no trusted key: every upgrade would be refused".into(),
        ));
    }
    let exe = std::fs::read("/proc/self/exe")
        .map_err(|e| setup(format!("cannot read the program's file: {e}")))?;
    let binary = crate::upgrade::file::build_id(&exe).map_err(setup)?;
    let socket = bind(&upgrades.socket).map_err(setup)?;
    let listener = Listener {
        socket,
        trusted,
        binary,
        staging: Staging::new()?,
        deliveries,
        last: None,
        live: Vec::new(),
        libraries: Vec::new(),
        restarting: None,
    };
    std::thread::Builder::new()
        .name("hotreload-upgrades".into())
        .spawn(move || listener.run())
        .map_err(|source| Error::Thread {
            name: "upgrade",
            source,
        })?;
    tracing::info!(socket = %upgrades.socket.display(), "taking upgrades");
    Ok(())
}

/// A socket at `path`, mode 0600. A file there is replaced if it is a
/// socket that nobody listens on (a program before this one died).
fn bind(path: &Path) -> Result<UnixListener, String> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(format!("`{}` exists and is not a socket", path.display()));
        }
        match UnixStream::connect(path) {
            Ok(_) => return Err(format!("another program listens on `{}`", path.display())),
            // Nobody listens: left by a program that ended.
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {}
            Err(error) => return Err(format!("`{}`: {error}", path.display())),
        }
        std::fs::remove_file(path)
            .map_err(|e| format!("cannot remove the old socket `{}`: {e}", path.display()))?;
    }
    let socket = UnixListener::bind(path)
        .map_err(|e| format!("cannot listen on `{}`: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot make `{}` private: {e}", path.display()))?;
    Ok(socket)
}

impl Listener {
    fn run(mut self) {
        loop {
            let mut stream = match self.socket.accept() {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors, say: try again, without spinning.
                    tracing::warn!("upgrade socket: {error}");
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            // A bug here must not end the thread: the program would take
            // no upgrade again.
            let request = std::panic::AssertUnwindSafe(|| self.request(&mut stream));
            let answer = match std::panic::catch_unwind(request) {
                Ok(Ok(lines)) => format!("ok {}\n", lines.join("\n")),
                Ok(Err(error)) => format!("err {error}\n"),
                Err(_) => "err HOT065 upgrades: the request panicked (see the program's \
                           output); `status` says what is live"
                    .to_string(),
            };
            tracing::info!("upgrade request: {}", answer.trim_end());
            let _ = stream.write_all(answer.as_bytes());
            drop(stream);
            // A restart waits for the answer to be out before the `exec`.
            if let Some(sent) = self.restarting.take() {
                let _ = sent.send(());
            }
        }
    }

    /// Reads and carries out one request.
    fn request(&mut self, stream: &mut UnixStream) -> Result<Vec<String>, Error> {
        let refused = |message: String| Error::UpgradeSocket { message };
        check_peer(stream).map_err(refused)?;
        let mut reader = BufReader::new(ByDeadline {
            stream,
            deadline: Instant::now() + READ_TIMEOUT,
        });
        let mut line = String::new();
        (&mut reader)
            .take(100)
            .read_line(&mut line)
            .map_err(|e| refused(format!("cannot read the request: {e}")))?;
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("push"), Some(length)) => {
                let length: u64 = length
                    .parse()
                    .ok()
                    .filter(|&length| length <= MAX_UPGRADE)
                    .ok_or_else(|| refused(format!("`{length}` is not a length we take")))?;
                let mut bytes = Vec::new();
                reader
                    .take(length)
                    .read_to_end(&mut bytes)
                    .map_err(|e| refused(format!("cannot read the upgrade: {e}")))?;
                self.push(&bytes)
            }
            (Some("rollback"), None) => self.roll_back(),
            (Some("status"), None) => Ok(self.status()),
            _ => Err(refused(format!(
                "unknown request `{}` (push <length>, rollback, status)",
                line.trim()
            ))),
        }
    }

    /// Checks and applies an upgrade; the lines of the answer.
    fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, Error> {
        let invalid = |invalid: Invalid| match invalid {
            Invalid::Malformed(reason) => Error::UpgradeMalformed { reason },
            Invalid::Untrusted(reason) => Error::UpgradeUntrusted { reason },
        };
        let upgrade = Signed::open(bytes, &self.trusted)
            .and_then(|signed| signed.upgrade())
            .map_err(invalid)?;
        if upgrade.binary != self.binary {
            return Err(Error::UpgradeWrongBinary {
                made_for: hex(&upgrade.binary),
                running: hex(&self.binary),
            });
        }
        if let Some(last) = self.last
            && upgrade.sequence <= last
        {
            return Err(Error::UpgradeReplayed {
                sequence: upgrade.sequence,
                last,
            });
        }
        let ours = |name: &str| ENTRIES.iter().any(|entry| entry.package == name);
        if let Some(piece) =
            (upgrade.pieces.iter()).find(|p| p.kind == Kind::Build && !ours(&p.name))
        {
            return Err(Error::UpgradeMalformed {
                reason: format!("this program has no hot package `{}`", piece.name),
            });
        }
        // The program's symbols first (what loads after them binds to the
        // program), then the libraries, then the builds, all verified
        // before any goes live: a refusal leaves nothing applied.
        let by_kind = |kind: Kind| upgrade.pieces.iter().filter(move |p| p.kind == kind);
        for symbols in by_kind(Kind::Symbols) {
            if let Err(why) = one_copy::share_from(&symbols.data) {
                tracing::warn!("upgrades get their own copies of std: {why}");
            }
        }
        for library in by_kind(Kind::Library) {
            self.load_library(&library.name, &library.data)?;
        }
        if let Some(binary) = by_kind(Kind::Binary).next() {
            let line = self.restart(&binary.name, &binary.data, upgrade.sequence)?;
            self.last = Some(upgrade.sequence);
            return Ok(vec![line]);
        }
        let origin = PathBuf::from(format!("upgrade {}", upgrade.sequence));
        let verified = by_kind(Kind::Build)
            .map(|build| self.verify(&build.data, &build.name, &origin, upgrade.sequence))
            .collect::<Result<Vec<_>, Error>>()?;
        let mut lines = Vec::new();
        for verified in verified {
            let package = verified.package.clone();
            let (answer, applied) = mpsc::channel();
            self.deliver(Delivery::Upgrade(verified, answer))?;
            let mut live = Live {
                generation: None,
                applied: Some(applied),
                sequence: upgrade.sequence,
            };
            lines.push(match live.generation_within(APPLY_TIMEOUT) {
                Some(generation) => format!(
                    "applied `{package}` as generation {generation} (upgrade {})",
                    upgrade.sequence
                ),
                None => format!(
                    "verified `{package}` (upgrade {}): it goes live at the program's next \
                     `update()`",
                    upgrade.sequence
                ),
            });
            self.live.push(live);
        }
        self.last = Some(upgrade.sequence);
        Ok(lines)
    }

    /// Loads a library a build needs, once: staged like a build (a file of
    /// its own, no name) and loaded, so that the builds' `DT_NEEDED` finds
    /// it by its soname.
    fn load_library(&mut self, name: &str, data: &[u8]) -> Result<(), Error> {
        if self.libraries.iter().any(|(loaded, ..)| loaded == name) {
            return Ok(());
        }
        let staged = (self.staging).stage_bytes(data.to_vec(), name, Path::new(name), false)?;
        // SAFETY: a library of the toolchain or of the target directory that
        // built this program, signed by a key the program trusts, for this
        // very binary (checked above): what a reload would load from there.
        let library = unsafe {
            Library::open(
                Some(&staged.path),
                libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL,
            )
        }
        .map_err(|e| Error::Load {
            package: name.to_string(),
            path: staged.path.clone(),
            message: e.to_string(),
        })?;
        self.libraries.push((name.to_string(), library, staged));
        Ok(())
    }

    /// Stages, loads, verifies and arms one build of an upgrade.
    fn verify(
        &self,
        data: &[u8],
        package: &str,
        origin: &Path,
        sequence: u64,
    ) -> Result<Box<Verified>, Error> {
        let seen = Instant::now();
        let staged = self
            .staging
            .stage_bytes(data.to_vec(), package, origin, true)?;
        // SAFETY: a build of this program's package, signed by a key it
        // trusts, made for this very binary (checked above) by a build of
        // the same toolchain and settings.
        let loaded = unsafe { load::load(staged, package) }?;
        let verifying = Instant::now();
        // The sources are not here: a type's definition is checked through
        // the layouts the signatures reach (see the README's *Upgrading a
        // service*).
        let plan = verify::verify(
            package,
            &Manifest::current(),
            &loaded.manifest,
            &Changes::none(),
        )?;
        let own_statics = loaded.own_statics();
        let build = arm::arm(loaded, &plan, &HOOKS);
        let verified = Instant::now();
        Ok(Box::new(Verified {
            package: package.to_string(),
            types: TypeChanges::default(),
            unreached: Vec::new(),
            plan,
            build,
            warnings: 0,
            built_by: None,
            upgrade: Some(sequence),
            pruning_stopped: false,
            full_build: None,
            own_statics,
            timings: Timings {
                saved_at: SystemTime::now(),
                load: verifying - seen,
                verify: verified - verifying,
                ..Timings::default()
            },
            verified,
            seen,
        }))
    }

    /// Restarts into an upgrade's binary with the program's state: the
    /// binary written to a private directory, the restart handed to
    /// `update()` (which needs the state: `update_with`, or `keep_state`
    /// in the background), and its outcome waited for.
    fn restart(&mut self, name: &str, binary: &[u8], sequence: u64) -> Result<String, Error> {
        let failed = |message: String| Error::Restart { message };
        let path = write_binary(name, binary, sequence)
            .map_err(|e| failed(format!("cannot write the new binary: {e}")))?;
        let (tell, told) = mpsc::channel();
        let (sent, sent_rx) = mpsc::channel();
        let pending = restart::Pending {
            binary: path,
            because: failed(format!(
                "upgrade {sequence} carries a new binary, for an edit no reload can take; the \
                 program restarts into it if it keeps its state (`Reloader::keep_state`, or \
                 `update_with`)"
            )),
            seen: Instant::now(),
            build: Duration::ZERO,
            operator: Some(restart::Operator {
                tell,
                told: sent_rx,
            }),
        };
        self.deliver(Delivery::Restart(Box::new(pending)))?;
        match told.recv_timeout(RESTART_TIMEOUT) {
            Ok(Ok(line)) => {
                self.restarting = Some(sent);
                Ok(line)
            }
            Ok(Err(message)) => Err(failed(message)),
            Err(_) => Ok(format!(
                "upgrade {sequence} restarts the program into its new binary at its next \
                 `update_with()`"
            )),
        }
    }

    /// Takes back every build of the newest upgrade that is live.
    fn roll_back(&mut self) -> Result<Vec<String>, Error> {
        let sequence = self.live.last().ok_or(Error::NothingToRollBack)?.sequence;
        let mut lines = Vec::new();
        while let Some(mut live) = self.live.pop_if(|live| live.sequence == sequence) {
            let Some(generation) = live.generation_within(Duration::ZERO) else {
                lines.push(format!(
                    "upgrade {sequence} has not gone live yet (the program has not called \
                     `update()` since): push a newer one instead"
                ));
                self.live.push(live);
                break;
            };
            let (answer, done) = mpsc::channel();
            self.deliver(Delivery::Revert(generation, answer))?;
            lines.push(match done.recv_timeout(APPLY_TIMEOUT) {
                Ok(Ok(line)) => format!("{line} (upgrade {sequence})"),
                Ok(Err(error)) => format!("{error} (generation {generation}, upgrade {sequence})"),
                Err(_) => format!(
                    "generation {generation} (upgrade {sequence}) is rolled back at the \
                     program's next `update()`"
                ),
            });
        }
        Ok(lines)
    }

    /// The newest upgrade taken and every generation.
    fn status(&mut self) -> Vec<String> {
        for live in &mut self.live {
            live.generation_within(Duration::ZERO);
        }
        let mut lines = vec![match self.last {
            Some(last) => format!("upgrade {last} is the newest taken"),
            None => "no upgrade taken yet".to_string(),
        }];
        for generation in loaded_generations() {
            let from = (self.live.iter())
                .find(|live| live.generation == Some(generation.number))
                .map(|live| format!(" (upgrade {})", live.sequence))
                .unwrap_or_default();
            lines.push(format!("{generation}{from}"));
        }
        lines
    }

    fn deliver(&self, delivery: Delivery) -> Result<(), Error> {
        self.deliveries
            .send(delivery)
            .map_err(|_| Error::UpgradeSocket {
                message: "the program stopped taking reloads (its Reloader was dropped)".into(),
            })?;
        set_pending();
        Ok(())
    }
}

/// A connection read against one deadline for the whole request (a
/// timeout per read would let a slow client hold the socket for ever).
struct ByDeadline<'a> {
    stream: &'a mut UnixStream,
    deadline: Instant,
}

impl Read for ByDeadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// Writes an upgrade's binary, executable by this user only, to
/// `$TMPDIR/hotreload-binaries-<uid>/<name>-<sequence>-<pid>-<time>` (a
/// directory of this user's, 0700; the pid stays across the `exec`, and
/// sequence numbers start again after it): the program restarts into it,
/// and runs from it from then on.
fn write_binary(name: &str, binary: &[u8], sequence: u64) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
    // SAFETY: geteuid(2) cannot fail.
    let uid = unsafe { libc::geteuid() };
    let dir = std::env::temp_dir().join(format!("hotreload-binaries-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let meta = std::fs::symlink_metadata(&dir)?;
            if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
                return Err(std::io::Error::other(format!(
                    "`{}` is not a private directory of this user",
                    dir.display()
                )));
            }
        }
        Err(error) => return Err(error),
    }
    let time = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let path = dir.join(format!("{name}-{sequence}-{}-{time}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(&path)?;
    file.write_all(binary)?;
    Ok(path)
}

/// Only a process of this program's own user may talk to it.
fn check_peer(stream: &UnixStream) -> Result<(), String> {
    let mut credentials = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt(2) writes at most `len` bytes into `credentials`,
    // which lives for the call.
    let status = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut credentials).cast(),
            &mut len,
        )
    };
    if status != 0 {
        return Err(format!(
            "cannot read the peer's credentials: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: geteuid(2) cannot fail.
    let ours = unsafe { libc::geteuid() };
    if credentials.uid != ours {
        return Err(format!(
            "a process of user {} (pid {}) may not upgrade this program, which runs as user {ours}",
            credentials.uid, credentials.pid
        ));
    }
    Ok(())
}
