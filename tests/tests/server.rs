//! The axum example (`examples/server`) under load while its handlers are
//! edited: 8 clients keep requesting through 10 edits and an edit that
//! panics; no request fails (the panicking call is retried with the code
//! before it), and each client sees the versions in order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hotreload_tests::{Fixture, RELOAD_TIMEOUT, http_get};

/// One `GET /version`: the number it serves, or what went wrong.
fn get_version(addr: &str) -> Result<u64, String> {
    let body = http_get(addr, "/version")?;
    body.strip_prefix("version ")
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("unexpected body {body:?}"))
}

/// The newest version any client has seen, and a way to wait for one.
#[derive(Default)]
struct Newest {
    version: Mutex<u64>,
    changed: Condvar,
}

impl Newest {
    fn saw(&self, version: u64) {
        let mut newest = self.version.lock().unwrap();
        if version > *newest {
            *newest = version;
            self.changed.notify_all();
        }
    }

    fn wait_for(&self, version: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut newest = self.version.lock().unwrap();
        while *newest < version {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "version {version} was never served");
            newest = self.changed.wait_timeout(newest, left).unwrap().0;
        }
    }
}

#[test]
fn handlers_edited_under_load_serve_every_request_in_order() {
    let fixture = Fixture::example("server");

    let exe = fixture.build("server");
    let mut command = std::process::Command::new(exe);
    command.envs([("SERVER_ADDR", "127.0.0.1:0"), ("SERVER_SECONDS", "600")]);
    let mut server = hotreload_tests::Program::spawn(command);
    let listening = server.expect_stdout("the address", |line| line.starts_with("listening on"));
    let addr = listening
        .trim_start_matches("listening on http://")
        .to_string();
    server.expect_stderr("hot reload to be ready", |line| {
        line.starts_with("[hotreload] ready:")
    });

    let stop = Arc::new(AtomicBool::new(false));
    let newest = Arc::new(Newest::default());
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (addr, stop, newest) = (addr.clone(), Arc::clone(&stop), Arc::clone(&newest));
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match get_version(&addr) {
                        Ok(version) => {
                            newest.saw(version);
                            seen.push(version);
                        }
                        Err(error) => failures.push(error),
                    }
                }
                (seen, failures)
            })
        })
        .collect();

    newest.wait_for(1, RELOAD_TIMEOUT);
    for version in 2..=11 {
        fixture.edit(
            "src/lib.rs",
            &format!("\"version {}\"", version - 1),
            &format!("\"version {version}\""),
        );
        newest.wait_for(version, RELOAD_TIMEOUT);
    }
    // A handler edited to panic: each request it panics in is answered by
    // the code before it, and the fix is served.
    fixture.edit(
        "src/lib.rs",
        "\"version 11\".to_string()",
        "panic!(\"an edit that panics\")",
    );
    let report = server.expect_stderr("HOT040", |line| line.contains("HOT040"));
    assert!(
        report.contains("`server::version` panicked: an edit that panics")
            && report.contains("the call was retried with it"),
        "{report}"
    );
    fixture.edit(
        "src/lib.rs",
        "panic!(\"an edit that panics\")",
        "\"version 12\".to_string()",
    );
    newest.wait_for(12, RELOAD_TIMEOUT);
    stop.store(true, Ordering::Relaxed);

    let mut requests = 0;
    for client in clients {
        let (seen, failures) = client.join().expect("a client thread");
        assert!(failures.is_empty(), "failed requests: {failures:?}");
        assert!(
            seen.windows(2).all(|pair| pair[0] <= pair[1]),
            "versions out of order: {seen:?}"
        );
        requests += seen.len();
    }
    assert!(requests > 80, "only {requests} requests were served");
}
