//! Helpers for the integration tests in `tests/tests/`: copy a fixture
//! package to a temporary directory, build it with cargo, run it, edit its
//! sources the ways editors do, and wait (with a timeout, never a sleep)
//! for the running program to show the new behaviour.
//!
//! Fixtures build into one shared target directory
//! (`target/hotreload-fixtures`), so the runtime and its dependencies are
//! compiled once per machine. Tests that use it run one at a time (a
//! process-wide lock), so no build waits for another's cargo lock.

pub mod mark;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Generous: a cold fixture build compiles the runtime's dependencies.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);
/// How long `expect_*` waits for a line: from a save to the new behaviour
/// a reload takes well under a second, but CI machines are shared and
/// noisy.
pub const RELOAD_TIMEOUT: Duration = Duration::from_secs(90);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The target directory shared by every fixture build.
pub fn fixture_target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map_or_else(|| workspace_root().join("target"), Path::to_path_buf);
    target.join("hotreload-fixtures")
}

/// A private copy of a fixture package (or workspace). Deleted when
/// dropped, unless `HOTRELOAD_KEEP_FIXTURES` is set (to look into a
/// failure; the path is printed).
pub struct Fixture {
    dir: Option<tempfile::TempDir>,
    _turn: MutexGuard<'static, ()>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if std::env::var_os("HOTRELOAD_KEEP_FIXTURES").is_some()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("kept the fixture at {}", dir.keep().display());
        }
    }
}

impl Fixture {
    /// Copies `tests/fixtures/<name>` to a temporary directory, pointing
    /// its dependency on the runtime at this checkout and giving it this
    /// workspace's lock file (same dependency versions, nothing new to
    /// resolve).
    /// A copy of fixture `name` with its binary of the same name started
    /// (see [`Fixture::start`]).
    pub fn running(name: &str) -> (Fixture, Program) {
        Fixture::running_with(name, &[])
    }

    /// [`Fixture::running`] with extra environment variables.
    pub fn running_with(name: &str, env: &[(&str, &str)]) -> (Fixture, Program) {
        let fixture = Fixture::new(name);
        let program = fixture.start_with(name, env);
        (fixture, program)
    }

    pub fn new(name: &str) -> Fixture {
        Fixture::copy_of(&workspace_root().join("tests/fixtures").join(name), name)
    }

    /// A copy of `examples/<name>`, made a package of its own (its
    /// workspace-inherited fields written out, the runtime named by path).
    pub fn example(name: &str) -> Fixture {
        let fixture = Fixture::copy_of(&workspace_root().join("examples").join(name), name);
        let root = workspace_root();
        let manifest = fixture
            .read("Cargo.toml")
            .replace("version.workspace = true", "version = \"0.1.0\"")
            .replace("edition.workspace = true", "edition = \"2024\"")
            .replace(
                "../../hotreload-",
                &root.join("hotreload-").to_string_lossy(),
            );
        fixture.write("Cargo.toml", &format!("{manifest}\n[workspace]\n"));
        fixture
    }

    /// A private copy of the package (or workspace) in `source`, as
    /// [`Fixture::new`] makes of a fixture.
    pub fn copy_of(source: &Path, name: &str) -> Fixture {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::Builder::new()
            .prefix(&format!("hotreload-fixture-{name}-"))
            .tempdir()
            .expect("temporary directory");
        copy_tree(source, dir.path());
        std::fs::copy(
            workspace_root().join("Cargo.lock"),
            dir.path().join("Cargo.lock"),
        )
        .expect("copy Cargo.lock");
        Fixture {
            dir: Some(dir),
            _turn: turn,
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir
            .as_ref()
            .expect("the directory is there until drop")
            .path()
            .join(relative)
    }

    /// Runs `cargo <args>` on the fixture in the shared target directory.
    pub fn cargo(&self, args: &[&str]) -> std::process::Output {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .args(args)
            .arg("--manifest-path")
            .arg(self.path("Cargo.toml"))
            .env("CARGO_TARGET_DIR", fixture_target_dir())
            .stdin(Stdio::null());
        run_with_timeout(cargo, BUILD_TIMEOUT)
    }

    /// `cargo build` of the fixture; returns the path of binary `bin`.
    pub fn build(&self, bin: &str) -> PathBuf {
        let output = self.cargo(&["build", "--bin", bin]);
        assert!(
            output.status.success(),
            "building fixture failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        fixture_target_dir().join("debug").join(bin)
    }

    /// Builds and starts `bin`, and waits until it prints `ready` (its
    /// reloader is watching by then).
    pub fn start(&self, bin: &str) -> Program {
        self.start_with(bin, &[])
    }

    /// [`Fixture::start`] with extra environment variables for the program.
    pub fn start_with(&self, bin: &str, env: &[(&str, &str)]) -> Program {
        let exe = self.build(bin);
        let mut command = Command::new(exe);
        command.envs(env.iter().copied());
        let mut program = Program::spawn(command);
        program.expect_stdout("the program to start", |line| line == "ready");
        program
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).expect("read fixture file")
    }

    /// Saves `file` in place with `from` replaced by `to` (like most
    /// editors' default save).
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let text = self.replaced(file, from, to);
        std::fs::write(self.path(file), text).expect("write fixture file");
    }

    /// Writes `file` whole (creating it if it was deleted).
    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.path(file), text).expect("write fixture file");
    }

    /// Deletes `file`.
    pub fn remove(&self, file: &str) {
        std::fs::remove_file(self.path(file)).expect("delete fixture file");
    }

    /// Saves `file` the way vim and many IDEs do: write a temporary file
    /// beside it, then rename it over the original.
    pub fn edit_by_rename(&self, file: &str, from: &str, to: &str) {
        let text = self.replaced(file, from, to);
        let target = self.path(file);
        let temporary = target.with_file_name(".hotreload-save.tmp");
        std::fs::write(&temporary, text).expect("write temporary file");
        std::fs::rename(&temporary, &target).expect("rename over the original");
    }

    fn replaced(&self, file: &str, from: &str, to: &str) -> String {
        let text = self.read(file);
        assert!(text.contains(from), "`{from}` not found in {file}");
        text.replacen(from, to, 1)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for entry in std::fs::read_dir(from).expect("read fixture directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            let text = std::fs::read_to_string(entry.path()).expect("fixture files are text");
            let root = workspace_root();
            let text = text
                .replace(
                    "{{RUNTIME}}",
                    &root.join("hotreload-runtime").to_string_lossy(),
                )
                .replace("{{BEVY}}", &root.join("hotreload-bevy").to_string_lossy());
            std::fs::write(target, text).expect("write fixture file");
        }
    }
}

/// Runs a command to completion (stdout and stderr captured), killing it
/// after `timeout`.
pub fn run_with_timeout(mut command: Command, timeout: Duration) -> std::process::Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cargo");
    let id = child.id();
    let (done_tx, done_rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let output = child.wait_with_output();
        let _ = done_tx.send(());
        output
    });
    if done_rx.recv_timeout(timeout).is_err() {
        // SAFETY: kill(2) on a pid we spawned; at worst it has exited.
        unsafe { libc::kill(id as i32, libc::SIGKILL) };
    }
    waiter.join().expect("waiter thread").expect("cargo output")
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A running fixture program. Killed (with everything it started, such as
/// its cargo builds) when dropped.
pub struct Program {
    child: Child,
    lines: Receiver<(Stream, String)>,
    /// Everything read so far, for failure messages.
    transcript: Vec<(Stream, String)>,
    /// Per stream, the transcript index after the last matched line: the
    /// next `expect` on that stream starts there, so a line read while
    /// waiting on the other stream is not missed.
    cursor: [usize; 2],
}

impl Program {
    pub fn spawn(mut command: Command) -> Program {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own process group, so Drop can kill its cargo children too.
            .process_group(0)
            .spawn()
            .expect("start fixture program");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for (stream, reader) in [
            (
                Stream::Stdout,
                Box::new(stdout) as Box<dyn std::io::Read + Send>,
            ),
            (Stream::Stderr, Box::new(stderr)),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(reader).lines().map_while(Result::ok) {
                    if tx.send((stream, line)).is_err() {
                        break;
                    }
                }
            });
        }
        Program {
            child,
            lines,
            transcript: Vec::new(),
            cursor: [0; 2],
        }
    }

    /// Waits for a line on `stream` that satisfies `matches`, and returns
    /// it. Panics with the transcript on timeout or exit.
    pub fn expect(
        &mut self,
        stream: Stream,
        what: &str,
        timeout: Duration,
        mut matches: impl FnMut(&str) -> bool,
    ) -> String {
        let cursor = &mut self.cursor[stream as usize];
        let already = self.transcript[*cursor..]
            .iter()
            .position(|(from, line)| *from == stream && matches(line));
        if let Some(index) = already {
            *cursor += index + 1;
            return self.transcript[*cursor - 1].1.clone();
        }
        *cursor = self.transcript.len();
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((from, line)) => {
                    self.transcript.push((from, line.clone()));
                    if from == stream && matches(&line) {
                        self.cursor[stream as usize] = self.transcript.len();
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "timed out after {timeout:?} waiting for {what}\n{}",
                        self.tail()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    panic!(
                        "the program ended ({status:?}) while waiting for {what}\n{}",
                        self.tail()
                    )
                }
            }
        }
    }

    /// Waits up to [`RELOAD_TIMEOUT`] for the program to end (both its
    /// streams closed), reading what it still prints, and returns how it
    /// ended.
    pub fn expect_exit(&mut self, what: &str) -> std::process::ExitStatus {
        let deadline = Instant::now() + RELOAD_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.transcript.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "timed out after {RELOAD_TIMEOUT:?} waiting for {what}\n{}",
                        self.tail()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return self.child.wait().expect("wait for the program");
                }
            }
        }
    }

    /// [`Program::expect`] on stdout, waiting up to [`RELOAD_TIMEOUT`].
    pub fn expect_stdout(&mut self, what: &str, matches: impl FnMut(&str) -> bool) -> String {
        self.expect(Stream::Stdout, what, RELOAD_TIMEOUT, matches)
    }

    /// [`Program::expect`] on stderr, waiting up to [`RELOAD_TIMEOUT`].
    pub fn expect_stderr(&mut self, what: &str, matches: impl FnMut(&str) -> bool) -> String {
        self.expect(Stream::Stderr, what, RELOAD_TIMEOUT, matches)
    }

    /// The next status line of the `basic` fixture (`ticks=… total=… …`)
    /// after the last stdout line matched.
    pub fn next_tick(&mut self) -> String {
        self.expect_stdout("the next tick", is_tick)
    }

    /// Waits until the program prints `update=<kind>` (the `basic` fixture
    /// prints one line each time `Reloader::update()` returns something
    /// other than `Idle`: `reloaded`, `failed`, `panicked`), then returns
    /// the first status line printed after it. That line comes from code
    /// that ran after the event took effect, never from a line printed
    /// before it.
    pub fn tick_after_update(&mut self, kind: &str) -> String {
        self.line_after_update(kind, is_tick)
    }

    /// [`Program::tick_after_update`] for a program whose lines `matches`
    /// tells.
    pub fn line_after_update(&mut self, kind: &str, matches: impl FnMut(&str) -> bool) -> String {
        self.expect_stdout(&format!("update={kind}"), has("update", kind));
        self.expect_stdout(&format!("a line after update={kind}"), matches)
    }

    /// From now on `expect_*` reads only lines that came after the last
    /// one matched on either stream: a line of one stream printed after an
    /// event the other stream showed.
    pub fn skip_to_now(&mut self) {
        self.cursor = [self.transcript.len(); 2];
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lines of `stream` read so far.
    pub fn seen(&self, stream: Stream) -> Vec<&str> {
        self.transcript
            .iter()
            .filter(|(from, _)| *from == stream)
            .map(|(_, line)| line.as_str())
            .collect()
    }

    /// File names of the shared libraries the program has mapped (from
    /// `/proc/<pid>/maps`).
    pub fn mapped_libraries(&self) -> Vec<String> {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.child.id()))
            .expect("read the program's memory map");
        let mut names: Vec<String> = maps
            .lines()
            .filter_map(|line| line.split_whitespace().nth(5))
            .filter_map(|path| Path::new(path).file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .filter(|name| name.contains(".so"))
            .collect();
        names.dedup();
        names
    }

    fn tail(&self) -> String {
        let stderr: Vec<_> = self.seen(Stream::Stderr);
        let stdout: Vec<_> = self.seen(Stream::Stdout);
        let last = |lines: &[&str], n: usize| lines[lines.len().saturating_sub(n)..].join("\n");
        format!(
            "--- stderr (all {} lines) ---\n{}\n--- stdout (last 5 of {}) ---\n{}",
            stderr.len(),
            last(&stderr, usize::MAX),
            stdout.len(),
            last(&stdout, 5)
        )
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group we created; at worst it has
        // already exited.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Whether the tools a test needs are on `PATH`. Without one, the test is
/// skipped: this says which tool is missing and how to install it (on the
/// terminal, past the test harness's capture), and returns `false`. With
/// `HOTRELOAD_REQUIRE_TOOLS=1` in the environment (`.ci/run` sets it after
/// installing them) a missing tool fails the test instead, so CI runs
/// every test.
pub fn have_tools(tools: &[&str], install: &str) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| !on_path(tool))
        .collect();
    if missing.is_empty() {
        return true;
    }
    skip(&format!(
        "needs {} (not found on PATH); install with `{install}`",
        missing.join(", ")
    ));
    false
}

/// Says why a test checks nothing on this machine (on the terminal: the
/// harness captures `eprintln!` of a test that passes); with
/// `HOTRELOAD_REQUIRE_TOOLS=1`, fails the test instead.
pub fn skip(reason: &str) {
    assert!(
        std::env::var_os("HOTRELOAD_REQUIRE_TOOLS").is_none_or(|value| value != "1"),
        "{reason} (HOTRELOAD_REQUIRE_TOOLS=1: required)"
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(tool)).is_ok_and(|meta| {
                use std::os::unix::fs::PermissionsExt;
                meta.is_file() && meta.permissions().mode() & 0o111 != 0
            })
        })
    })
}

/// The value of `key=` in a status line like `ticks=3 total=4`.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
}

/// `field` parsed as a number.
pub fn number(line: &str, key: &str) -> i64 {
    field(line, key)
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no number `{key}=` in `{line}`"))
}

/// A line of the default reporter about a reload or a failure (not the
/// `ready` line it prints once at start).
pub fn is_report(line: &str) -> bool {
    line.starts_with("[hotreload]") && !line.starts_with("[hotreload] ready:")
}

/// The default reporter's line of a reload that changed hot functions.
pub fn is_reload(line: &str) -> bool {
    line.starts_with("[hotreload] reloaded")
}

/// A status line of the `parallel` and `hecs_world` fixtures
/// (`frame=N ...`).
pub fn is_frame(line: &str) -> bool {
    line.starts_with("frame=")
}

/// How much the number `key=` grows per frame, from the next two frames
/// (`is_frame`) printed after the last line read.
pub fn per_frame(program: &mut Program, key: &str) -> i64 {
    let first = program.expect_stdout("a frame", is_frame);
    let second = program.expect_stdout("the next frame", is_frame);
    let frames = number(&second, "frame") - number(&first, "frame");
    (number(&second, key) - number(&first, key)) / frames
}

/// A status line of the `basic` fixture.
pub fn is_tick(line: &str) -> bool {
    line.starts_with("ticks=")
}

/// A matcher for lines whose `key=` field is `value`.
pub fn has(key: &str, value: &str) -> impl Fn(&str) -> bool + use<> {
    let (key, value) = (key.to_string(), value.to_string());
    move |line| field(line, &key) == Some(value.as_str())
}

/// One `GET path` on 127.0.0.1 (`Connection: close`): the body of a
/// 200 answer, or what went wrong.
pub fn http_get(addr: &str, path: &str) -> Result<String, String> {
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    if !response.starts_with("HTTP/1.1 200") {
        return Err(format!("not 200: {response}"));
    }
    Ok(response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string())
}
