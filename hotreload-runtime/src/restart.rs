//! A restart that keeps the program's state: the way through an edit that
//! no reload can take (a changed state type, HOT011; a changed signature,
//! HOT010), for a program that hands its state to
//! [`Reloader::update_with`](crate::Reloader::update_with).
//!
//! 1. The refused build's sources compile: the reloader builds the
//!    program's binary from them (`cargo build -p <its package> --bin
//!    <name>`, the program's profile and target), in the background. Not
//!    `--workspace`: cargo unifies the features of every member it builds,
//!    and the binary would not be the one hot builds match (HOT015 for
//!    every later edit), nor one cargo has built before (a long rebuild).
//! 2. At the next `update_with(&state)`, the state is serialized by the
//!    running code (serde, MessagePack with field names) and handed to the new binary started in
//!    check mode: it runs up to [`Reloader::take_state`], deserializes
//!    into the new types, and exits saying whether that worked. A field
//!    whose type changed with nothing to convert it fails here: the
//!    program keeps running, old code and data untouched, and the message
//!    names the field (HOT050).
//! 3. Otherwise the process `exec`s the new binary (same pid, arguments,
//!    environment, stdin/stdout/stderr and every open descriptor not
//!    marked close-on-exec), with the state in an unnamed memory file; the
//!    new program's `take_state()` returns it.
//!
//! Why it is sound: no code ever sees data in a layout it was not compiled
//! for. The old process serializes with its own code and ends; the new one
//! deserializes with its own. What crosses is self-describing data.
//!
//! [`Reloader::take_state`]: crate::Reloader::take_state

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::Error;
use crate::build::cargo_json;
use crate::build::config::BuildConfig;

/// The memory file descriptor holding the state, in the new process.
const STATE_FD: &str = "HOTRELOAD_STATE_FD";
/// Set for the check run: the state comes on stdin, and `take_state`
/// exits with the verdict.
const CHECK: &str = "HOTRELOAD_STATE_CHECK";
/// When the save that led to the restart was seen (Unix ns).
const SAVED_AT: &str = "HOTRELOAD_RESTART_SAVED_AT";
/// Listening sockets handed to the new program: `<pid>;<address>=<fd>;...`.
const LISTENERS: &str = "HOTRELOAD_LISTENERS";
/// How long the check run may take to reach `take_state`.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);
/// `take_state`'s exit code when the state does not fit the new types.
const DOES_NOT_FIT: i32 = 3;

/// Set once the program takes state ([`take`]): refused builds that a
/// restart can take are then built as a new binary.
static WANTED: AtomicBool = AtomicBool::new(false);

/// Whether this process is a check run (its `Reloader::start` does
/// nothing).
pub fn checking() -> bool {
    std::env::var_os(CHECK).is_some()
}

/// Whether `error` is a refusal that a restart gets past, and the program
/// takes state.
pub fn can_take(error: &Error) -> bool {
    WANTED.load(Ordering::Acquire) && gets_past(error)
}

/// Whether `error` is a refusal that a restart gets past: a changed
/// signature, layout or hot static type, and nothing else.
pub fn gets_past(error: &Error) -> bool {
    matches!(error, Error::Refused(refusals)
        if refusals.iter().all(|r| matches!(r.code, "HOT010" | "HOT011" | "HOT014")))
}

/// The first sentence of the refusal a restart gets past.
pub fn reason(because: &Error) -> String {
    let text = match because {
        Error::Refused(refusals) => refusals
            .iter()
            .map(|r| format!("{} `{}`: {}", r.code, r.function, r.message))
            .next()
            .unwrap_or_default(),
        Error::Restart { message } => message.clone(),
        other => other.to_string(),
    };
    text.split(". ").next().unwrap_or_default().to_string()
}

/// A new binary, built from sources a reload could not take.
pub struct Pending {
    pub binary: PathBuf,
    /// The refusal.
    pub because: Error,
    /// The first file event of the save.
    pub seen: Instant,
    pub build: Duration,
    /// Who pushed it, for an upgrade that carries the binary: told what
    /// happened (the line before the `exec`, or why there is none), and
    /// whose acknowledgement (the answer is sent) the `exec` waits for.
    /// Taken out before [`restart`].
    pub operator: Option<Operator>,
}

/// The upgrade socket's side of a restart (see [`Pending::operator`]).
pub struct Operator {
    pub tell: std::sync::mpsc::Sender<Result<String, String>>,
    pub told: std::sync::mpsc::Receiver<()>,
}

impl Operator {
    /// Tells the operator; waits (a few seconds at most) until they have
    /// the answer before the process becomes another program.
    fn tell(&self, line: Result<String, String>) {
        if self.tell.send(line).is_ok() {
            let _ = self.told.recv_timeout(Duration::from_secs(5));
        }
    }
}

/// How the running program's binary (or example) is built from the
/// current sources, in the workspace of `package_dir`: the binary, and
/// cargo's arguments.
pub fn command(config: &BuildConfig, package_dir: &Path) -> Result<(PathBuf, Vec<String>), Error> {
    let failed = |message: String| Error::Restart { message };
    let exe = std::env::current_exe().map_err(|e| failed(format!("no executable path: {e}")))?;
    // Replaced by a later build while this one runs (a restart before).
    let exe = match exe
        .to_str()
        .and_then(|path| path.strip_suffix(" (deleted)"))
    {
        Some(path) => PathBuf::from(path),
        None => exe,
    };
    let name = exe
        .file_name()
        .ok_or_else(|| failed("no executable name".into()))?
        .to_string_lossy()
        .into_owned();
    let (kind, target_kind) = if exe.parent().and_then(Path::file_name) == Some("examples".as_ref())
    {
        ("--example", "example")
    } else {
        ("--bin", "bin")
    };
    // The package that has the target; the whole workspace only if none
    // says so (cargo then finds it, with every member's features).
    let manifest = package_dir.join("Cargo.toml");
    let owner = cargo_json::metadata(&config.cargo, &manifest, &["--no-deps", "--offline"])
        .ok()
        .and_then(|metadata| {
            metadata.packages.into_iter().find(|package| {
                package
                    .targets
                    .iter()
                    .any(|t| t.name == name && t.kind.iter().any(|k| k == target_kind))
            })
        });
    let mut args: Vec<String> = vec!["build".into()];
    match owner {
        Some(package) => args.extend(["-p".into(), package.name]),
        None => args.push("--workspace".into()),
    }
    args.extend([
        kind.into(),
        name,
        "--profile".into(),
        config.profile.clone(),
    ]);
    if let Some(target) = &config.target {
        args.extend(["--target".into(), target.clone()]);
    }
    Ok((exe, args))
}

/// Builds the binary as [`command`] says.
pub fn build(
    config: &BuildConfig,
    package_dir: &Path,
    (exe, args): (PathBuf, Vec<String>),
) -> Result<PathBuf, Error> {
    let output = Command::new(&config.cargo)
        .current_dir(package_dir)
        .env("CARGO_TARGET_DIR", &config.target_dir)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Restart {
            message: format!("cannot run cargo: {e}"),
        })?;
    if !output.status.success() {
        return Err(Error::Restart {
            message: format!(
                "`cargo {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim_end()
            ),
        });
    }
    Ok(exe)
}

/// Hands `state` to `pending`'s binary and becomes it; returns only if
/// that cannot be done, with why (the program goes on as it was).
///
/// `state` serializes the program's state: once for the check, and again
/// right before the `exec`, so that what calls still running (in the
/// background) changed meanwhile is handed over too.
pub fn restart(
    pending: &Pending,
    state: &dyn Fn() -> Result<Vec<u8>, String>,
    operator: Option<&Operator>,
    before: Option<&mut (dyn FnMut() + Send + 'static)>,
) -> Error {
    let failed = |message: String| Error::Restart { message };
    let serialize = || state().map_err(|e| failed(format!("cannot serialize the state: {e}")));
    let checking = Instant::now();
    let state = match serialize() {
        Ok(state) => state,
        Err(error) => return error,
    };
    if let Err(message) = check(&pending.binary, &state) {
        return failed(message);
    }
    let saved_at = SystemTime::now() - pending.seen.elapsed();
    let line = format!(
        "restarting with the state moved over, for what no reload can take ({}): build {} ms, \
         state {} bytes checked in {} ms",
        reason(&pending.because),
        pending.build.as_millis(),
        state.len(),
        checking.elapsed().as_millis()
    );
    eprintln!("[hotreload] {line}");
    if let Some(operator) = operator {
        operator.tell(Ok(line));
    }
    // The program stops taking work and lets what runs finish.
    if let Some(before) = before {
        before();
    }
    let memfd = match serialize().and_then(|state| {
        state_file(&state).map_err(|e| failed(format!("cannot hand the state over: {e}")))
    }) {
        Ok(file) => file,
        Err(error) => return error,
    };
    let _ = std::io::stdout().flush();
    let error = Command::new(&pending.binary)
        .args(std::env::args_os().skip(1))
        // For this process only (the pid stays across `exec`): a child
        // that inherits the variable must not take what is not its own.
        .env(
            STATE_FD,
            format!("{}:{}", std::process::id(), memfd.as_raw_fd()),
        )
        .env(
            SAVED_AT,
            saved_at
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
                .to_string(),
        )
        .env(LISTENERS, hand_over_listeners())
        .env_remove(CHECK)
        .exec();
    failed(format!(
        "cannot start `{}`: {error}",
        pending.binary.display()
    ))
}

/// The listeners [`listener`] made or took, by the address asked for: a
/// copy of each (`dup`) that the reloader holds, so that the socket stays
/// open for the new program even once the program closed its own (to stop
/// accepting before a restart, see `Reloader::before_restart`).
/// `(address, the descriptor handed to the program, the copy)`.
static LISTENING: std::sync::Mutex<Vec<(String, i32, i32)>> = std::sync::Mutex::new(Vec::new());

/// A TCP listener on `address` that survives a restart: the one the
/// previous program (before `exec`) had for the same `address`, or a new
/// one. See `hotreload_runtime::listener`.
pub fn listener(address: &str) -> std::io::Result<std::net::TcpListener> {
    let mut listening = LISTENING.lock().unwrap_or_else(|e| e.into_inner());
    let inherited = std::env::var(LISTENERS).ok().and_then(|value| {
        let (pid, rest) = value.split_once(';')?;
        (pid.parse::<u32>().ok()? == std::process::id()).then_some(())?;
        rest.split(';').find_map(|entry| {
            let (at, fd) = entry.rsplit_once('=')?;
            (at == address).then(|| fd.parse::<i32>().ok())?
        })
    });
    let listener = match inherited.filter(|fd| !listening.iter().any(|(_, own, _)| own == fd)) {
        // SAFETY: a listening socket (checked) that the previous program
        // left open for the listener on `address`, and that nothing here
        // owns: `listening` holds those taken already.
        Some(fd) if is_listening(fd) => {
            let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
            // Not inherited by the programs this one starts (cargo, rustc).
            // SAFETY: fcntl(2) on a descriptor we own.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            listener
        }
        _ => std::net::TcpListener::bind(address)?,
    };
    // SAFETY: fcntl(2) on a descriptor we own: a new descriptor of the same
    // socket, close-on-exec, owned by `LISTENING` for the process.
    let copy = unsafe { libc::fcntl(listener.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    listening.push((address.to_string(), listener.as_raw_fd(), copy));
    Ok(listener)
}

/// Whether `fd` is a socket that listens.
fn is_listening(fd: i32) -> bool {
    let mut accepting: libc::c_int = 0;
    let mut size = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt(2) writes at most `size` bytes to `accepting`.
    let read = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&raw mut accepting).cast(),
            &mut size,
        )
    };
    read == 0 && accepting == 1
}

/// The listeners to hand over, kept open across `exec`, as `LISTENERS`.
fn hand_over_listeners() -> String {
    let listening = LISTENING.lock().unwrap_or_else(|e| e.into_inner());
    let mut value = std::process::id().to_string();
    for (address, _, fd) in listening.iter() {
        // A listener the program dropped: its number may be another file's.
        if !is_listening(*fd) {
            continue;
        }
        // SAFETY: fcntl(2) on a descriptor this process has open: clears
        // close-on-exec.
        if unsafe { libc::fcntl(*fd, libc::F_SETFD, 0) } == 0 {
            value.push_str(&format!(";{address}={fd}"));
        }
    }
    value
}

/// Runs `binary` in check mode with `state` on its stdin.
fn check(binary: &Path, state: &[u8]) -> Result<(), String> {
    let mut child = Command::new(binary)
        .args(std::env::args_os().skip(1))
        .env(CHECK, "1")
        .env_remove(STATE_FD)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start `{}` to check the state: {e}",
                binary.display()
            )
        })?;
    let mut stdin = child.stdin.take().expect("piped");
    let state = state.to_vec();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&state);
    });
    let mut stderr = child.stderr.take().expect("piped");
    let (done, exited) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        // Only `child.wait()` below reaps, so until then the pid is the
        // child's and `kill` cannot reach another process.
        let _ = crate::build::wait_without_reaping(pid);
        let _ = done.send(text);
    });
    let text = exited.recv_timeout(CHECK_TIMEOUT);
    if text.is_err() {
        let _ = child.kill();
    }
    // Reaps it: killed, or exited (then at once).
    let status = child.wait();
    match (status, text) {
        (Ok(status), Ok(_)) if status.success() => Ok(()),
        // `take` says why on its last line (the program may print before).
        (Ok(status), Ok(text)) if status.code() == Some(DOES_NOT_FIT) => Err(format!(
            "the state does not fit the new types: {}",
            text.trim().lines().last().unwrap_or_default()
        )),
        (status, Ok(text)) => Err(format!(
            "the new program ended ({status:?}) before it took the state (does it call \
             `Reloader::take_state` first thing?): {}",
            text.trim()
        )),
        (_, Err(_)) => Err(format!(
            "the new program did not take the state within {} s (call `Reloader::take_state` \
             first thing in main)",
            CHECK_TIMEOUT.as_secs()
        )),
    }
}

/// An unnamed memory file with `state`, inherited across `exec`.
fn state_file(state: &[u8]) -> std::io::Result<std::fs::File> {
    // SAFETY: memfd_create(2) with a NUL-terminated name and no flags (not
    // close-on-exec: the new program reads it).
    let fd = unsafe { libc::memfd_create(c"hotreload-state".as_ptr(), 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new descriptor that nothing else owns.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(state)?;
    std::io::Seek::rewind(&mut file)?;
    Ok(file)
}

/// The state the previous process handed over, if this process is a
/// restart; in a check run, exits with the verdict.
pub fn take<T: serde::de::DeserializeOwned>() -> Option<T> {
    WANTED.store(true, Ordering::Release);
    let bytes = if checking() {
        let mut bytes = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut bytes);
        bytes
    } else {
        static TAKEN: AtomicBool = AtomicBool::new(false);
        let value = std::env::var(STATE_FD).ok()?;
        let (pid, fd) = value.split_once(':')?;
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
        let fd: i32 = fd.parse().ok()?;
        // The variable outlives the descriptor (`exec` of this image again
        // keeps it, with the number maybe another file's by then): only
        // the state's own memory file is taken.
        let state_file = std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok_and(|target| {
            target
                .as_os_str()
                .as_encoded_bytes()
                .starts_with(b"/memfd:hotreload-state")
        });
        if !state_file || TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the previous process's state file (checked above), left
        // open for us and owned by nothing in this image: taken once.
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ok()?;
        bytes
    };
    let mut deserializer = rmp_serde::Deserializer::new(bytes.as_slice());
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    if checking() {
        match result {
            Ok(_) => std::process::exit(0),
            Err(error) => {
                eprintln!("`{}`: {}", error.path(), error.inner());
                std::process::exit(DOES_NOT_FIT)
            }
        }
    }
    match result {
        Ok(state) => {
            let since_save = std::env::var(SAVED_AT)
                .ok()
                .and_then(|ns| ns.parse::<u64>().ok())
                .and_then(|ns| {
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH + Duration::from_nanos(ns))
                        .ok()
                });
            eprintln!(
                "[hotreload] restarted with the state moved over{}",
                since_save.map_or(String::new(), |d| format!(
                    ", {} ms after the save",
                    d.as_millis()
                ))
            );
            Some(state)
        }
        Err(error) => {
            // Checked before the exec: only a program that takes another
            // type than the one it handed over gets here.
            eprintln!(
                "[hotreload] HOT050 the state handed over does not fit `{}` at `{}`: {}; \
                 starting without it",
                std::any::type_name::<T>(),
                error.path(),
                error.inner()
            );
            None
        }
    }
}
