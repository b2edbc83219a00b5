//! Generations under load: eight threads call hot functions in a tight
//! loop while 200 builds are applied in the background, with old builds
//! unloaded, and another thread sleeps in hot calls (their builds must
//! stay loaded until they return).

use hotreload_tests::{Fixture, Program, Stream, field, number};

const RELOADS: u64 = 200;
const KEEP: usize = 2;

/// `src/stamp.rs` of the `basic` fixture with `n` in both functions.
fn stamp_source(n: u64) -> String {
    format!(
        "use hotreload_runtime::hot;\n\n\
         #[hot]\npub fn stamp() -> [u64; 2] {{\n    let n: u64 = {n};\n    \
         [n, inner()]\n}}\n\n\
         #[hot]\npub fn inner() -> u64 {{\n    {n}\n}}\n\n\
         #[hot]\npub fn hold(ms: u64) -> u64 {{\n    \
         std::thread::sleep(std::time::Duration::from_millis(ms));\n    {n}\n}}\n"
    )
}

/// Staged builds the program has mapped and open: unnamed files
/// (`/tmp/#<inode> (deleted)`) in `/proc/<pid>/maps` and `/proc/<pid>/fd`.
fn unnamed_files(program: &Program) -> (usize, usize) {
    let pid = program.pid();
    let unnamed = |path: &str| path.contains("/#") && path.ends_with("(deleted)");
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("its memory map");
    let mut mapped: Vec<&str> = maps
        .lines()
        .filter(|line| unnamed(line))
        .filter_map(|line| line.split_whitespace().nth(4))
        .collect();
    mapped.sort_unstable();
    mapped.dedup();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("its open files")
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter(|target| unnamed(&target.to_string_lossy()))
        .count();
    (mapped.len(), open)
}

#[test]
fn eight_threads_calling_through_200_reloads_see_no_torn_result_and_old_builds_are_unloaded() {
    let fixture = Fixture::new("basic");
    let mut program = fixture.start_with("stress", &[("STRESS_KEEP", &KEEP.to_string())]);
    program.expect_stdout("the workers calling", |line| {
        line.starts_with("status") && number(line, "calls") > 0
    });
    let mut unloaded = 0;
    let mut in_flight_seen = false;
    for n in 1..=RELOADS {
        fixture.write("src/stamp.rs", &stamp_source(n));
        let update = program.expect_stdout(&format!("the reload of stamp {n}"), |line| {
            line.starts_with("update=")
        });
        assert_eq!(field(&update, "update"), Some("reloaded"), "{update}");
        unloaded += number(&update, "unloaded");
        // A status line printed after every worker called the new code.
        let status = program.expect_stdout(&format!("every worker on stamp {n}"), {
            let n = n.to_string();
            move |line| line.starts_with("status") && field(line, "workers_at") == Some(&n)
        });
        assert_eq!(field(&status, "torn"), Some("0"), "{status}");
        in_flight_seen |= number(&status, "in_flight") > 0;
    }
    let status = program.expect_stdout("a last status line", |line| line.starts_with("status"));
    assert_eq!(field(&status, "torn"), Some("0"), "{status}");
    assert_eq!(field(&status, "pinned"), Some("0"), "{status}");
    assert!(in_flight_seen, "calls in flight were never counted");
    assert!(number(&status, "holds") > 0, "{status}");
    let reports: Vec<&str> = program.seen(Stream::Stderr);
    assert!(
        !reports.iter().any(|line| line.starts_with("torn")),
        "{reports:#?}"
    );
    // Unloaded but for the newest KEEP and those still in their grace
    // second: without unloading, all 200 stay mapped.
    let (mapped, open) = unnamed_files(&program);
    let live = number(&status, "live") as usize;
    eprintln!(
        "after {RELOADS} reloads: {status}; {unloaded} unloaded, {mapped} mapped, {open} open"
    );
    assert!(live <= 12, "{live} generations live: {status}");
    // The builds and the one-copy library of the program's symbols.
    assert!(
        mapped <= live + 1,
        "{mapped} unnamed files mapped, {live} live"
    );
    assert!(open <= live + 1, "{open} unnamed files open, {live} live");
    assert!(
        unloaded >= RELOADS as i64 - 12,
        "only {unloaded} of {RELOADS} builds unloaded"
    );
}
