//! A service deployed as operators deploy one: built `--release`, its
//! binary copied to a directory of its own and started there with an
//! environment holding no cargo, no rustc and no path to its sources. 8
//! clients request it all along while upgrades, made by `cargo hotreload
//! upgrade` from edited sources where it was built, are pushed to its
//! socket: no request fails, each upgrade is served by the requests that
//! start after the push answered, the service's state (a request counter,
//! a cache) is kept; tampered, unsigned, wrong-key, wrong-binary, replayed
//! and truncated upgrades are refused with their codes and change nothing;
//! a panicking upgrade is rolled back on its first call; `rollback` takes
//! the newest upgrade back; `status` lists the generations; an upgrade
//! that changes the state's type restarts the service into its new binary
//! with its state and listening socket, after it finished the requests it
//! was serving (no request fails there either), and the restarted service
//! takes upgrades made with that binary.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hotreload_runtime::upgrade::file::{Upgrade, signing_key};
use hotreload_tests::{Fixture, Program, fixture_target_dir, http_get};

/// `version V request N` -> `(V, N)`.
fn parse_version(body: &str) -> Option<(u64, u64)> {
    let rest = body.strip_prefix("version ")?;
    let (version, rest) = rest.split_once(" request ")?;
    Some((version.parse().ok()?, rest.trim().parse().ok()?))
}

/// Every answered request: when it started, the version and the request
/// number it got; and every failure.
#[derive(Default)]
struct Served {
    answers: Mutex<Vec<(Instant, u64, u64)>>,
    /// When each failed request started, and why it failed.
    failures: Mutex<Vec<(Instant, String)>>,
    more: Condvar,
}

impl Served {
    /// The versions served to requests that started after `since`, once
    /// `count` of them were answered.
    fn versions_after(&self, since: Instant, count: usize) -> HashSet<u64> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut answers = self.answers.lock().unwrap();
        loop {
            let after: Vec<u64> = (answers.iter())
                .filter(|(started, ..)| *started > since)
                .map(|(_, version, _)| *version)
                .collect();
            if after.len() >= count {
                return after.into_iter().collect();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "only {} requests answered in a minute",
                after.len()
            );
            answers = self.more.wait_timeout(answers, left).unwrap().0;
        }
    }
}

/// 8 clients requesting `/version` until `stop`.
fn clients(
    addr: &str,
    stop: &Arc<AtomicBool>,
    served: &Arc<Served>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..8)
        .map(|_| {
            let (addr, stop, served) = (addr.to_string(), Arc::clone(stop), Arc::clone(served));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    let started = Instant::now();
                    match http_get(&addr, "/version").and_then(|body| {
                        parse_version(&body).ok_or_else(|| format!("unexpected body {body:?}"))
                    }) {
                        Ok((version, request)) => {
                            served
                                .answers
                                .lock()
                                .unwrap()
                                .push((started, version, request));
                            served.more.notify_all();
                        }
                        Err(error) => served.failures.lock().unwrap().push((started, error)),
                    }
                }
            })
        })
        .collect()
}

/// `cargo hotreload <args>`, as the command line runs it.
fn cargo_hotreload(args: &[&str]) -> Result<String, String> {
    let args = ["cargo-hotreload", "hotreload"].iter().chain(args);
    cargo_hotreload::run(args.map(|arg| arg.to_string()))
}

/// Where upgrades are built: the keys, and the upgrade files.
struct BuildBox {
    dir: tempfile::TempDir,
    binary: PathBuf,
    /// The sources the binary was built from.
    base: PathBuf,
}

impl BuildBox {
    fn key(&self) -> PathBuf {
        self.dir.path().join("ops.key")
    }

    /// Makes upgrade `sequence` from the fixture's sources as they are.
    fn upgrade(&self, sequence: u64) -> PathBuf {
        let (made, out) = self.try_upgrade(sequence, &[]);
        let made = made.unwrap_or_else(|e| panic!("cargo hotreload upgrade failed: {e}"));
        // Each of the test's upgrades changes `describe`, and says so.
        assert!(
            made.contains("`service`: changes the #[hot] functions"),
            "{made}"
        );
        assert!(made.contains("service::describe"), "{made}");
        assert!(
            made.contains(&format!("upgrade {sequence} for build id")),
            "{made}"
        );
        out
    }

    fn try_upgrade(&self, sequence: u64, more: &[&str]) -> (Result<String, String>, PathBuf) {
        let out = self.dir.path().join(format!("service-{sequence}.upgrade"));
        let (sequence, key) = (sequence.to_string(), self.key());
        let mut args = vec![
            "upgrade",
            "--binary",
            self.binary.to_str().unwrap(),
            "--base",
            self.base.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--sequence",
            &sequence,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(more);
        (cargo_hotreload(&args), out)
    }

    /// Writes `bytes` as an upgrade file named `name`.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// Connects as the user `nobody` (answered before it asks anything), with the socket and its
/// directory opened to everyone: the answer is a refusal. Needs root (to
/// run as another user) and python3 (a client that is not ours).
fn refuse_another_user(socket: &Path) {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        hotreload_tests::skip("the check of another user's peer needs root");
        return;
    }
    if !hotreload_tests::have_tools(&["python3"], "apt-get install python3") {
        return;
    }
    let open = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    open(socket.parent().unwrap(), 0o755);
    open(socket, 0o666);
    let client = "import socket, sys\n\
                  s = socket.socket(socket.AF_UNIX)\n\
                  s.connect(sys.argv[1])\n\
                  print(s.makefile().read())";
    let output = std::process::Command::new("python3")
        .args(["-c", client])
        .arg(socket)
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&output.stdout);
    assert!(
        answer.starts_with("err HOT065 upgrades: a process of user 65534"),
        "{answer}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    open(socket, 0o600);
    open(socket.parent().unwrap(), 0o700);
}

/// The service's answer to a push.
fn push(socket: &Path, file: &Path) -> Result<String, String> {
    cargo_hotreload(&[
        "push",
        "--socket",
        socket.to_str().unwrap(),
        file.to_str().unwrap(),
    ])
}

/// A copy of `fixture`'s sources, as a checkout of the deployed version's
/// tag would be.
fn sources_of(fixture: &Fixture, base: &Path) {
    std::fs::create_dir_all(base.join("src")).unwrap();
    for file in ["Cargo.toml", "src/lib.rs", "src/main.rs"] {
        std::fs::copy(fixture.path(file), base.join(file)).unwrap();
    }
}

/// The service deployed and under load, and the build box its upgrades
/// are made on.
struct Deployment {
    fixture: Fixture,
    build_box: BuildBox,
    service: Program,
    socket: PathBuf,
    addr: String,
    served: Arc<Served>,
    stop: Arc<AtomicBool>,
    clients: Vec<std::thread::JoinHandle<()>>,
    _deployed: tempfile::TempDir,
}

impl Deployment {
    /// Built `--release`; the binary and the public key copied to a
    /// directory of their own and started there with no cargo, rustc or
    /// sources in reach; 8 clients requesting it.
    fn start() -> Deployment {
        let fixture = Fixture::new("service");
        let built = fixture.cargo(&["build", "--release"]);
        let stderr = String::from_utf8_lossy(&built.stderr);
        assert!(built.status.success(), "{stderr}");
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("deployed");
        sources_of(&fixture, &base);
        let build_box = BuildBox {
            dir,
            binary: fixture_target_dir().join("release/service"),
            base,
        };
        let keys = cargo_hotreload(&["keygen", build_box.dir.path().join("ops").to_str().unwrap()]);
        assert!(keys.unwrap().contains("ops.pub"));

        let deployed = tempfile::tempdir().unwrap();
        let exe = deployed.path().join("service");
        std::fs::copy(&build_box.binary, &exe).unwrap();
        let key = deployed.path().join("ops.pub");
        std::fs::copy(build_box.dir.path().join("ops.pub"), &key).unwrap();
        let socket = deployed.path().join("upgrades.sock");
        let mut command = std::process::Command::new(&exe);
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("SERVICE_SOCKET", &socket)
            .env("SERVICE_KEY", key)
            .current_dir(deployed.path());
        let mut service = Program::spawn(command);
        let listening =
            service.expect_stdout("the address", |line| line.starts_with("listening on"));
        let addr = listening
            .trim_start_matches("listening on http://")
            .to_string();
        assert_eq!(
            http_get(&addr, "/cache/a").unwrap(),
            "made for a by version 1"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(Served::default());
        let clients = clients(&addr, &stop, &served);
        let deployment = Deployment {
            fixture,
            build_box,
            service,
            socket,
            addr,
            served,
            stop,
            clients,
            _deployed: deployed,
        };
        deployment.serves(1);
        deployment
    }

    /// Every request that starts from now on (50 of them) is served
    /// `version`.
    fn serves(&self, version: u64) {
        let versions = self.served.versions_after(Instant::now(), 50);
        assert_eq!(versions, HashSet::from([version]));
    }

    /// Pushes `file`; the service's answer says `expected`.
    fn pushed(&self, file: &Path, expected: &str) {
        let answer = push(&self.socket, file).unwrap();
        assert!(answer.contains(expected), "{answer}");
    }

    fn edit_version(&self, from: u64, to: u64) {
        let version = |n| format!("\"version {n} request {{n}}\"");
        self.fixture
            .edit("src/lib.rs", &version(from), &version(to));
    }

    fn failures(&self) -> Vec<(Instant, String)> {
        self.served.failures.lock().unwrap().clone()
    }

    /// Upgrade 1 (version 2) is served by every request after the push,
    /// with the service's cache kept, and nothing the service mapped comes
    /// from the toolchain, the target directory or the sources. Returns
    /// the upgrade file.
    fn an_upgrade_is_served_with_nothing_from_the_build_box(&self) -> PathBuf {
        self.edit_version(1, 2);
        self.fixture
            .edit("src/lib.rs", "by version 1\"", "by version 2\"");
        let first = self.build_box.upgrade(1);
        self.pushed(&first, "applied `service` as generation 1 (upgrade 1)");
        self.serves(2);
        // Made by the program's code, kept; new entries made by the new code.
        assert_eq!(
            http_get(&self.addr, "/cache/a").unwrap(),
            "made for a by version 1"
        );
        assert_eq!(
            http_get(&self.addr, "/cache/b").unwrap(),
            "made for b by version 2"
        );
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.service.pid())).unwrap();
        let toolchain = std::env::var("RUSTUP_HOME").unwrap_or_else(|_| "/root/.rustup".into());
        for place in [
            fixture_target_dir(),
            self.fixture.path(""),
            PathBuf::from(toolchain),
        ] {
            let place = place.to_string_lossy().into_owned();
            assert!(
                !maps.contains(&place),
                "the service mapped a file under {place}:\n{maps}"
            );
        }
        first
    }

    /// Bad upgrades, made from `first`: each refused with its code, and
    /// version 2 still served.
    fn bad_upgrades_are_refused(&self, first: &Path) {
        let bytes = std::fs::read(first).unwrap();
        let body = Upgrade::parse(&bytes[..bytes.len() - 96]).unwrap();
        let trusted = std::fs::read_to_string(self.build_box.key()).unwrap();
        let trusted = signing_key(&trusted).unwrap();
        let mut tampered = bytes.clone();
        tampered[bytes.len() / 2] ^= 0x40;
        let other_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let mut for_another_binary = body.clone();
        for_another_binary.binary = vec![0x11; 20];
        for_another_binary.sequence = 2;
        let mut later = body.clone();
        later.sequence = 2;
        let bad = [
            ("tampered", tampered, "HOT061"),
            ("unsigned", bytes[..bytes.len() - 96].to_vec(), "HOT061"),
            ("signed by another key", later.sign(&other_key), "HOT061"),
            (
                "made for another binary",
                for_another_binary.sign(&trusted),
                "HOT062",
            ),
            ("replayed", bytes.clone(), "HOT063"),
            ("truncated", bytes[..bytes.len() / 3].to_vec(), "HOT061"),
            ("cut to its first bytes", bytes[..40].to_vec(), "HOT060"),
        ];
        for (what, bytes, code) in bad {
            let refused = push(&self.socket, &self.build_box.file(what, &bytes));
            let refused = refused.expect_err(what);
            let expected = format!("{code} refused the upgrade");
            assert!(refused.starts_with(&expected), "{what}: {refused}");
            let versions = self.served.versions_after(Instant::now(), 20);
            assert_eq!(versions, HashSet::from([2]), "after the {what} upgrade");
        }
    }

    /// Upgrade 2 panics: its first call is rolled back to version 2 and
    /// retried there.
    fn a_panicking_upgrade_is_rolled_back(&mut self) {
        let panics = "    if n_is_wrong() {\n        panic!(\"upgrade 2 panics\");\n    }\n";
        let fixture = &self.fixture;
        fixture.edit(
            "src/lib.rs",
            "    let n = state.requests",
            &format!("{panics}    let n = state.requests"),
        );
        let lib = fixture.read("src/lib.rs");
        fixture.write(
            "src/lib.rs",
            &format!("{lib}\nfn n_is_wrong() -> bool {{\n    true\n}}\n"),
        );
        self.pushed(
            &self.build_box.upgrade(2),
            "applied `service` as generation 2 (upgrade 2)",
        );
        self.service.expect_stderr("the panic rolled back", |line| {
            line.contains("HOT040") && line.contains("upgrade 2 panics")
        });
        self.serves(2);
    }

    /// A field of the state the service holds retyped, its size kept: no
    /// upgrade is made (the layouts the service checks are the same; the
    /// sources the binary was built from show the change).
    fn a_state_type_edit_makes_no_upgrade(&self) {
        let lib = self.fixture.read("src/lib.rs");
        let retyped = "    pub requests: std::sync::atomic::AtomicI64,";
        self.fixture
            .edit("src/lib.rs", "    pub requests: AtomicU64,", retyped);
        let (refused, out) = self.build_box.try_upgrade(3, &[]);
        let refused = refused.expect_err("an upgrade that changes `State`");
        assert!(
            refused.contains("HOT011") && refused.contains("`State`"),
            "{refused}"
        );
        assert!(refused.contains("With `--restart`"), "{refused}");
        assert!(!out.exists());
        self.fixture.write("src/lib.rs", &lib);
    }

    /// Upgrade 3 (version 3) is listed by `status`, then rolled back to
    /// version 2.
    fn an_upgrade_is_listed_and_rolled_back(&self) {
        self.fixture
            .edit("src/lib.rs", "    true\n}", "    false\n}");
        self.edit_version(2, 3);
        self.pushed(
            &self.build_box.upgrade(3),
            "applied `service` as generation 3 (upgrade 3)",
        );
        self.serves(3);
        let socket = self.socket.to_str().unwrap();
        let status = cargo_hotreload(&["status", "--socket", socket]).unwrap();
        assert!(
            status.starts_with("upgrade 3 is the newest taken"),
            "{status}"
        );
        let listed = "generation 3 of `service`: 2 hot functions run its code (upgrade 3)";
        assert!(status.contains(listed), "{status}");
        let answer = cargo_hotreload(&["rollback", "--socket", socket]).unwrap();
        assert!(
            answer.contains("rolled back generation 3 of `service`"),
            "{answer}"
        );
        self.serves(2);
    }

    /// No request failed so far, and one counter went on all along: no
    /// request number was given twice.
    fn no_request_failed_and_one_counter_went_on(&self) {
        assert_eq!(self.failures(), vec![], "requests failed");
        let answers = self.served.answers.lock().unwrap();
        let numbers: HashSet<u64> = answers.iter().map(|(_, _, n)| *n).collect();
        assert_eq!(
            numbers.len(),
            answers.len(),
            "the service's request counter started again"
        );
    }

    /// Upgrade 4 adds a field to the state: no reload can take it, so the
    /// upgrade carries the new binary, and the service restarts into it
    /// with its state and its listening socket while the clients run. It
    /// finishes the requests it is serving first (`before_restart`), and
    /// new connections wait for the new program: no request fails.
    fn a_restart_keeps_the_state_and_the_socket(&mut self) {
        let field =
            "    #[serde(default)]\n    pub errors: AtomicU64,\n    pub requests: AtomicU64,";
        self.fixture
            .edit("src/lib.rs", "    pub requests: AtomicU64,", field);
        self.edit_version(3, 4);
        let (made, fourth) = self.build_box.try_upgrade(4, &["--restart"]);
        let made = made.unwrap();
        assert!(
            made.contains("the program restarts into the new binary"),
            "{made}"
        );
        let answers = |served: &Served| served.answers.lock().unwrap().clone();
        let before = answers(&self.served)
            .iter()
            .map(|(_, _, n)| *n)
            .max()
            .unwrap();
        let pushed = Instant::now();
        self.pushed(&fourth, "restarting with the state moved over");
        self.service.expect_stderr("the new program", |line| {
            line.starts_with("[hotreload] restarted with the state moved over")
        });
        self.serves(4);
        // The counter goes on from where the old program left it.
        let first_new = answers(&self.served)
            .iter()
            .filter(|(_, v, _)| *v == 4)
            .map(|(_, _, n)| *n)
            .min();
        assert!(
            first_new.unwrap() > before,
            "the counter started again: {first_new:?} after {before}"
        );
        assert_eq!(
            http_get(&self.addr, "/cache/a").unwrap(),
            "made for a by version 1"
        );
        assert_eq!(self.failures(), vec![], "requests failed in the restart");
        let numbers = answers(&self.served)
            .iter()
            .filter(|(started, ..)| *started > pushed)
            .count();
        eprintln!("{numbers} requests answered through the restart");
    }

    /// The restarted service takes upgrades made with its new binary, from
    /// the sources it was built from.
    fn the_restarted_service_takes_upgrades(&mut self) {
        let base = self.build_box.dir.path().join("deployed-4");
        sources_of(&self.fixture, &base);
        self.build_box.base = base;
        self.edit_version(4, 5);
        self.pushed(
            &self.build_box.upgrade(5),
            "applied `service` as generation 1 (upgrade 5)",
        );
        self.serves(5);
    }

    /// Stops the clients: no request failed, ever.
    fn stop(self) {
        self.stop.store(true, Ordering::Release);
        for client in self.clients {
            client.join().unwrap();
        }
        let failures = self.served.failures.lock().unwrap();
        assert_eq!(*failures, vec![], "requests failed");
    }
}

#[test]
fn a_deployed_service_takes_signed_upgrades_under_load() {
    let mut deployment = Deployment::start();
    let first = deployment.an_upgrade_is_served_with_nothing_from_the_build_box();
    // A process of another user is turned away, even with the socket's
    // mode opened to everyone.
    refuse_another_user(&deployment.socket);
    deployment.bad_upgrades_are_refused(&first);
    deployment.a_panicking_upgrade_is_rolled_back();
    deployment.a_state_type_edit_makes_no_upgrade();
    deployment.an_upgrade_is_listed_and_rolled_back();
    deployment.no_request_failed_and_one_counter_went_on();
    deployment.a_restart_keeps_the_state_and_the_socket();
    deployment.the_restarted_service_takes_upgrades();
    deployment.stop();
}
