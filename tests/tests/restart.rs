//! A change to the state a program holds: the program restarts with its
//! state moved into the new type (`Reloader::update_with`), on the
//! simulation example. A field added (defaulted), a field retyped with no
//! conversion (refused: nothing lost), the same with a conversion (a serde
//! hook), a field removed.

use std::process::Command;

use hotreload_tests::{Fixture, Program};

/// The word after `key` in a status line (`births 0 generation    42 | ...`).
fn after<'a>(line: &'a str, key: &str) -> &'a str {
    let (_, rest) = line
        .split_once(key)
        .unwrap_or_else(|| panic!("no `{key}` in `{line}`"));
    rest.split_whitespace().next().unwrap_or_default()
}

fn generation(line: &str) -> u64 {
    after(line, "generation")
        .parse()
        .unwrap_or_else(|_| panic!("no generation in `{line}`"))
}

fn status(program: &mut Program, what: &str) -> String {
    program.expect_stdout(what, |line| line.contains("generation"))
}

/// Waits for the restart and the new program's reloader, then for the
/// first status line that `new_code` tells from the old program's.
fn restarted(program: &mut Program, new_code: impl Fn(&str) -> bool) -> String {
    let building = program.expect_stderr("the restart build", |line| line.contains("HOT0"));
    assert!(
        building.contains("restarting with the state: building the program (`cargo build -p "),
        "{building}"
    );
    let restarting = program.expect_stderr("the restart", |line| {
        line.starts_with("[hotreload] restarting") || line.contains("HOT0")
    });
    assert!(
        restarting.starts_with("[hotreload] restarting"),
        "{restarting}"
    );
    let taken = program.expect_stderr("the new program taking the state", |line| {
        line.starts_with("[hotreload] restarted with the state moved over")
    });
    eprintln!("{restarting}\n{taken}");
    program.expect_stderr("its reloader", |line| line.starts_with("[hotreload] ready"));
    program.expect_stdout("a status line of the new program", |line| {
        line.contains("generation") && new_code(line)
    })
}

#[test]
fn a_changed_state_type_restarts_the_program_with_its_state() {
    let fixture = Fixture::example("simulation");
    let mut command = Command::new(fixture.build("simulation"));
    command.env("SIMULATION_SECONDS", "600");
    let mut program = Program::spawn(command);
    program.expect_stderr("the reloader", |line| line.starts_with("[hotreload] ready"));
    let before = generation(&status(&mut program, "a status line"));

    // A field added (`World::new` would give 7; the old world has none, so
    // it takes its default), and shown.
    fixture.edit(
        "src/lib.rs",
        "    pub generation: u64,\n}",
        "    pub generation: u64,\n    #[serde(default)]\n    pub births: u64,\n}",
    );
    fixture.edit(
        "src/lib.rs",
        "            generation: 0,\n",
        "            generation: 0,\n            births: 7,\n",
    );
    fixture.edit(
        "src/rules.rs",
        "            \"generation {:>6}",
        "            \"births {} generation {:>6}",
    );
    fixture.edit(
        "src/rules.rs",
        "            self.generation, alive",
        "            self.births, self.generation, alive",
    );
    let line = restarted(&mut program, |line| line.starts_with("births"));
    assert_eq!(after(&line, "births"), "0", "{line}");
    let added = generation(&line);
    assert!(
        added > before,
        "the old world goes on: {line} after {before}"
    );

    // Retyped with nothing to convert the old value: refused, and the
    // program goes on with its world and code.
    fixture.edit("src/lib.rs", "pub births: u64,", "pub births: String,");
    fixture.edit("src/lib.rs", "births: 7,", "births: String::new(),");
    let refusal = program.expect_stderr("the refusal", |line| line.contains("HOT050"));
    assert!(refusal.contains("births"), "{refusal}");
    // Status lines printed after the refusal, the second at least 30
    // generations later.
    program.skip_to_now();
    let seen = generation(&status(&mut program, "the next status line"));
    let line = program.expect_stdout("a later status line", |line| {
        line.contains("generation") && generation(line) > seen + 30
    });
    assert_eq!(after(&line, "births"), "0", "the old code runs: {line}");
    let refused = generation(&line);

    // With a conversion (serde's hook): moved over.
    fixture.edit(
        "src/lib.rs",
        "    #[serde(default)]\n    pub births: String,",
        "    #[serde(default, deserialize_with = \"births_from_count\")]\n    pub births: String,",
    );
    fixture.write(
        "src/lib.rs",
        &(fixture.read("src/lib.rs")
            + "\nfn births_from_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {\n    \
               let count: u64 = serde::Deserialize::deserialize(d)?;\n    Ok(format!(\"#{count}\"))\n}\n"),
    );
    let line = restarted(&mut program, |line| after(line, "births") != "0");
    assert_eq!(after(&line, "births"), "#0", "{line}");
    let converted = generation(&line);
    assert!(converted > refused, "{line} after {refused}");

    // Removed: dropped, the rest kept.
    fixture.edit(
        "src/lib.rs",
        "    #[serde(default, deserialize_with = \"births_from_count\")]\n    pub births: String,\n",
        "",
    );
    fixture.edit("src/lib.rs", "            births: String::new(),\n", "");
    fixture.edit("src/rules.rs", "\"births {} generation", "\"generation");
    fixture.edit(
        "src/rules.rs",
        "self.births, self.generation",
        "self.generation",
    );
    let line = restarted(&mut program, |line| line.starts_with("generation"));
    assert!(generation(&line) > converted, "{line} after {converted}");
}

/// In a workspace where another member turns on features of shared
/// dependencies, the restarted program is built as the program was (`-p app`, not the
/// workspace's union of features), so the hot builds of its library match
/// it: edits after the restart reload.
#[test]
fn a_restarted_program_reloads_later_edits() {
    let fixture = Fixture::new("restart_workspace");
    let built = fixture.cargo(&["build", "-p", "app"]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let mut command = Command::new(hotreload_tests::fixture_target_dir().join("debug/app"));
    command.current_dir(fixture.path("."));
    let mut program = Program::spawn(command);
    program.expect_stderr("the reloader", |line| line.starts_with("[hotreload] ready"));

    // A field added to the state: a restart.
    fixture.edit(
        "logic/src/lib.rs",
        "    pub ticks: u64,\n}",
        "    pub ticks: u64,\n    #[serde(default)]\n    pub extra: u64,\n}",
    );
    let building = program.expect_stderr("the restart build", |line| line.contains("HOT0"));
    assert!(
        building.contains("HOT011") && building.contains("`cargo build -p app --bin app"),
        "{building}"
    );
    program.expect_stderr("the restart", |line| {
        line.starts_with("[hotreload] restarted with the state moved over")
    });
    program.expect_stderr("the new program's reloader", |line| {
        line.starts_with("[hotreload] ready")
    });
    let before = program.expect_stdout("a tick of the new program", |line| {
        line.starts_with("ticks=")
    });

    // A body edit in the restarted program: reloaded, not refused.
    fixture.edit("logic/src/lib.rs", "version=1", "version=2");
    let line = program.line_after_update("reloaded", |line| line.starts_with("ticks="));
    assert!(line.ends_with("version=2"), "{line}");
    let ticks = |line: &str| -> u64 {
        line.trim_start_matches("ticks=")
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_default()
    };
    // The state went on through both.
    assert!(ticks(&line) > ticks(&before), "{line} after {before}");
    assert!(
        !program
            .seen(hotreload_tests::Stream::Stdout)
            .iter()
            .any(|l| l.contains("HOT015")),
        "refused after the restart"
    );
}

/// One line from the server on `port`.
fn ask(port: &str) -> String {
    use std::io::BufRead;
    let stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    let mut line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut line)
        .expect("an answer");
    line.trim().to_string()
}

#[test]
fn a_restarted_server_keeps_its_listening_socket_and_its_state() {
    let fixture = hotreload_tests::Fixture::new("basic");
    let mut server = fixture.start("restart_server");
    let port_line = server.expect_stdout("the port", |line| line.starts_with("port="));
    let port = port_line.trim_start_matches("port=").to_string();
    assert_eq!(ask(&port), "v1 1");
    assert_eq!(ask(&port), "v1 2");
    server.expect_stderr("the reloader", |line| line.starts_with("[hotreload] ready"));
    // A field added to the state and the answer changed, in one save.
    fixture.edit(
        "src/lib.rs",
        "    pub requests: u64,\n}",
        "    pub requests: u64,\n    #[serde(default)]\n    pub label: u8,\n}",
    );
    fixture.edit("src/lib.rs", "format!(\"v1 {}\"", "format!(\"v2 {}\"");
    server.expect_stderr("the restart", |line| {
        line.starts_with("[hotreload] restarted with the state moved over")
    });
    let again = server.expect_stdout("the new program's port", |line| line.starts_with("port="));
    assert_eq!(again, port_line, "the same socket");
    // The same socket, the count carried over, the new code.
    assert_eq!(ask(&port), "v2 3");
}
