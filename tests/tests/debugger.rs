//! A debugger attached to a program that has reloaded sees the reloaded
//! code: gdb, in batch mode, attaches after two reloads, a breakpoint on a
//! line of the edited function is hit in the newest build at that line,
//! and the backtrace reads through it to the program's `main`.

use std::process::Command;
use std::time::Duration;

use hotreload_tests::{Fixture, has, have_tools, run_with_timeout, skip};

/// gdb in batch mode, attached to `pid`: a breakpoint at `lib.rs:line`,
/// where it stopped, the backtrace and the libraries; what it printed.
fn gdb_batch(fixture: &Fixture, pid: u32, line: usize) -> String {
    let mut gdb = Command::new("gdb");
    gdb.current_dir(fixture.path("."))
        .args(["-nx", "-batch", "-p", &pid.to_string()])
        .args(["-ex", &format!("break lib.rs:{line}")])
        .args(["-ex", "continue", "-ex", "bt", "-ex", "info symbol $pc"])
        .args(["-ex", "info sharedlibrary", "-ex", "detach"]);
    // A gdb that blocks (it did, reading a name of the program's) is a
    // failure, not a hang.
    let output = run_with_timeout(gdb, Duration::from_secs(120));
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn gdb_attaches_after_reloads_and_stops_in_the_new_code() {
    if !have_tools(&["gdb"], "apt-get install gdb") {
        return;
    }
    let (fixture, mut program) = Fixture::running("basic");
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    fixture.edit(
        "src/lib.rs",
        "pub fn value() -> i64 {\n    1\n}",
        "pub fn value() -> i64 {\n    2\n}",
    );
    program.tick_after_update("reloaded");
    // The second build: the function moved to the end of the file, its
    // body on four lines. gdb puts a breakpoint on the next line with code
    // where a line has none, so the line is one no older build has any
    // code on or after: past the end of the file they were built from.
    let text =
        fixture
            .read("src/lib.rs")
            .replacen("#[hot]\npub fn value() -> i64 {\n    2\n}\n", "", 1);
    fixture.write(
        "src/lib.rs",
        &format!(
            "{text}\n#[hot]\npub fn value() -> i64 {{\n    let one = 1;\n    let two = one + 1;\n    \
             let three = two + 1;\n    three\n}}\n"
        ),
    );
    let tick = program.tick_after_update("reloaded");
    assert!(has("value", "3")(&tick), "{tick}");
    let line = fixture
        .read("src/lib.rs")
        .lines()
        .position(|line| line.trim() == "let three = two + 1;")
        .expect("the edited line")
        + 1;

    let text = gdb_batch(&fixture, program.pid(), line);
    if text.contains("ptrace: Operation not permitted") {
        skip("gdb may not attach here (ptrace not permitted: /proc/sys/kernel/yama/ptrace_scope)");
        return;
    }
    let pid = program.pid();
    // Stopped in the edited function, at the line, in the newest build:
    // the last of the program's staged builds that gdb lists.
    let at = format!("src/lib.rs:{line}");
    assert!(
        text.lines()
            .any(|l| l.contains("hit Breakpoint") && l.contains("value") && l.contains(&at)),
        "no stop at src/lib.rs:{line}:\n{text}"
    );
    let staged = format!("/proc/{pid}/fd/");
    let newest = text
        .lines()
        .filter_map(|l| l.split_whitespace().next_back())
        .rfind(|name| name.starts_with(&staged))
        .unwrap_or_else(|| panic!("no staged build in gdb's list:\n{text}"));
    assert!(
        text.lines()
            .any(|l| l.contains("in section .text of") && l.trim_end().ends_with(newest)),
        "not stopped in the newest build, {newest}:\n{text}"
    );
    // The backtrace goes on through the reloaded frames to `main`.
    assert!(
        text.lines()
            .any(|l| l.starts_with('#') && l.contains("main") && l.contains("src/main.rs")),
        "the backtrace does not reach main:\n{text}"
    );
    // Detached: the program goes on.
    program.next_tick();
}

/// With `HOTRELOAD_NAMED_BUILDS=1`, a sampling profiler names the
/// functions of reloaded code, also when reading its samples after the
/// program ended: `perf record` on a program whose reloaded hot function
/// spins, `perf report` afterwards.
#[test]
fn perf_names_reloaded_functions_with_named_builds() {
    if !have_tools(&["perf"], "apt-get install linux-perf") {
        return;
    }
    let (fixture, mut program) = Fixture::running_with("basic", &[("HOTRELOAD_NAMED_BUILDS", "1")]);
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    fixture.edit(
        "src/lib.rs",
        "pub fn value() -> i64 {\n    1\n}",
        "pub fn value() -> i64 {\n    (0..3_000_000_i64).fold(0, |sum, n| std::hint::black_box(sum ^ n)) * 0 + 4\n}",
    );
    let tick = program.tick_after_update("reloaded");
    assert!(has("value", "4")(&tick), "{tick}");
    let data = fixture.path("perf.data");
    let mut record = Command::new("perf");
    record.args(["record", "-F", "999", "-o"]).arg(&data).args([
        "-p",
        &program.pid().to_string(),
        "--",
        "sleep",
        "3",
    ]);
    let recorded = run_with_timeout(record, Duration::from_secs(60));
    if !recorded.status.success() {
        skip(&format!(
            "perf cannot record here ({})",
            String::from_utf8_lossy(&recorded.stderr).trim()
        ));
        return;
    }
    let pid = program.pid();
    drop(program);
    let mut report = Command::new("perf");
    report
        .args(["report", "--stdio", "--sort", "dso,sym", "-i"])
        .arg(&data);
    let report = run_with_timeout(report, Duration::from_secs(60));
    let text = String::from_utf8_lossy(&report.stdout);
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("hotreload-builds-{pid}")));
    assert!(
        text.lines()
            .any(|line| line.contains("basic-") && line.contains("__hotreload_impl_value")),
        "no samples named in the reloaded build:\n{text}"
    );
}
