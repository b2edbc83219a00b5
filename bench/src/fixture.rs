//! The fixture packages the benchmark generates, builds, runs and edits.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const HOTRELOAD_MANIFEST: &str = include_str!("../fixtures/hotreload/Cargo.toml");
const HOTRELOAD_LIB: &str = include_str!("../fixtures/hotreload/lib.rs");
const HOTRELOAD_MAIN: &str = include_str!("../fixtures/hotreload/main.rs");

/// The body of the edited function `value()`: `lines` (statements, no
/// braces) and the number it returns.
fn value_body(lines: &str, n: u64) -> String {
    format!("{{\n{lines}    {n}\n}}")
}

/// What `value()` does besides returning its number, in the `realistic`
/// scale: what the library's own functions do (a world, one of the
/// library's components, a helper), so that an edit of it compiles what
/// an edit of real code there would.
const REALISTIC_VALUE: &str = "    let mut world = bevy_ecs::world::World::new();\n    \
     world.spawn(m3::Body3::default());\n    \
     let found = world.query::<&m3::Body3>().iter(&world).count() as u64;\n    \
     std::hint::black_box(m3::helper5(found));\n";

/// subsecond's fixture: its manifest and `main.rs`, to which a scale adds
/// (see [`Subsecond::create`]).
const SUBSECOND_FILES: [(&str, &str); 2] = [
    (
        "Cargo.toml",
        include_str!("../fixtures/subsecond/Cargo.toml"),
    ),
    (
        "src/main.rs",
        include_str!("../fixtures/subsecond/src/main.rs"),
    ),
];

/// hot-lib-reloader's fixture, copied as is.
const HOT_LIB_RELOADER_FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../fixtures/hot-lib-reloader/Cargo.toml"),
    ),
    (
        "lib/Cargo.toml",
        include_str!("../fixtures/hot-lib-reloader/lib/Cargo.toml"),
    ),
    (
        "lib/src/lib.rs",
        include_str!("../fixtures/hot-lib-reloader/lib/src/lib.rs"),
    ),
    (
        "src/driver.rs",
        include_str!("../fixtures/hot-lib-reloader/src/driver.rs"),
    ),
    (
        "src/bin/hlr_default.rs",
        include_str!("../fixtures/hot-lib-reloader/src/bin/hlr_default.rs"),
    ),
    (
        "src/bin/hlr_fast.rs",
        include_str!("../fixtures/hot-lib-reloader/src/bin/hlr_fast.rs"),
    ),
];

/// Dependencies, the body of `work()` and more library code, per scale.
fn scale(name: &str) -> (&'static str, &'static str, String) {
    // (dependencies, the body of `work()`, more library code)
    match name {
        "small" => ("", "seed.wrapping_mul(3)", String::new()),
        "deps" => (
            "serde_json = \"1\"\nrand = \"0.9\"\nglam = \"0.30\"",
            "use rand::{Rng, SeedableRng};\n    \
             let mut rng = rand::rngs::StdRng::seed_from_u64(seed);\n    \
             let v = glam::Vec3::new(rng.random(), rng.random(), rng.random());\n    \
             serde_json::to_string(&[v.x, v.y, v.z]).map_or(0, |s| s.len() as u64) + v.length() as u64",
            String::new(),
        ),
        "heavy" => (
            "bevy_ecs = \"0.17\"",
            "#[derive(bevy_ecs::component::Component)]\n    \
             struct Position(u64);\n    \
             let mut world = bevy_ecs::world::World::new();\n    \
             for i in 0..seed {\n        world.spawn(Position(i));\n    }\n    \
             let mut query = world.query::<&Position>();\n    \
             query.iter(&world).map(|p| p.0).sum()",
            String::new(),
        ),
        "many" => ("", "seed.wrapping_mul(3)", many_hot_functions(20, 20)),
        "realistic" => (
            "bevy_ecs = \"0.17\"",
            "seed.wrapping_mul(3)",
            realistic_library(10),
        ),
        other => panic!("unknown scale `{other}`: small, deps, heavy, many or realistic"),
    }
}

/// `modules` modules of `each` small hot functions (400 in `many`, beside
/// the 3 every scale has).
fn many_hot_functions(modules: usize, each: usize) -> String {
    let mut text = String::new();
    for m in 0..modules {
        text.push_str(&format!(
            "\npub mod m{m} {{\n    use hotreload_runtime::hot;\n"
        ));
        for f in 0..each {
            text.push_str(&format!(
                "\n    #[hot]\n    pub fn f{f}(state: &mut u64, x: u64) -> u64 {{\n        \
                 *state = state.wrapping_mul({}).wrapping_add(x);\n        *state >> {}\n    }}\n",
                m * each + f + 3,
                f % 60 + 1
            ));
        }
        text.push_str("}\n");
    }
    text
}

/// A library of the size the reload-time issue names: `modules` modules
/// of about 500 lines each (a component, 10 hot functions that spawn and
/// query it in a `bevy_ecs` world, 40 plain helpers), so 5 000 lines and
/// 100 hot functions beside the 3 every scale has.
fn realistic_library(modules: usize) -> String {
    let mut text = String::new();
    for m in 0..modules {
        text.push_str(&format!(
            "\npub mod m{m} {{\n    use hotreload_runtime::hot;\n\n    \
             #[derive(bevy_ecs::component::Component, Debug, Clone, Copy, Default)]\n    \
             pub struct Body{m} {{\n        pub x: u64,\n        pub y: u64,\n        pub mass: u64,\n    }}\n"
        ));
        for f in 0..10 {
            text.push_str(&format!(
                "\n    #[hot]\n    pub fn rule{f}(world: &mut bevy_ecs::world::World, seed: u64) -> u64 {{\n        \
                 world.spawn(Body{m} {{ x: seed, y: helper{f}(seed), mass: {f} }});\n        \
                 let mut query = world.query::<&Body{m}>();\n        \
                 query.iter(world).map(|body| body.x ^ body.y).fold({f}, u64::wrapping_add)\n    }}\n"
            ));
        }
        for h in 0..40 {
            text.push_str(&format!(
                "\n    /// Plain code the hot functions call.\n    \
                 pub fn helper{h}(seed: u64) -> u64 {{\n        \
                 let mut value = seed.wrapping_mul({});\n        \
                 for step in 0..{} {{\n            \
                 value = value.rotate_left(step).wrapping_add(step as u64);\n        }}\n        \
                 if value % 2 == 0 {{\n            value / 2\n        }} else {{\n            \
                 value.wrapping_mul(3).wrapping_add(1)\n        }}\n    }}\n",
                h + 3,
                h % 7 + 1
            ));
        }
        text.push_str("}\n");
    }
    text
}

/// Writes `text` to `path` unless it already holds it (an unchanged file
/// keeps cargo's fingerprints, so a second run does not rebuild).
fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return;
    }
    std::fs::create_dir_all(path.parent().expect("a file has a directory")).expect("mkdir");
    std::fs::write(path, text).expect("write fixture file");
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(mut command: Command, what: &str) -> Duration {
    let start = Instant::now();
    let status = command
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(status.success(), "{what} failed");
    start.elapsed()
}

fn unix_ns(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// A save the benchmark made, and what it measured around it.
pub struct Saved {
    unix_ns: u128,
    /// Stages the benchmark itself timed (the peer's rebuild).
    stages: Vec<(&'static str, f64)>,
}

/// The function the benchmark edits.
const VALUE: &str = "fn value() -> u64 ";

/// The plain function `value()` calls in a `<scale>:helper` program, which
/// the benchmark edits there instead.
const HELPER: &str = "fn bench_number() -> u64 ";

/// Writes `file` with `value()` returning `n` (after `lines`), in place.
fn save_value(file: &Path, lines: &str, n: u64) -> Saved {
    save_number_of(file, VALUE, lines, n)
}

/// Writes `file` with the function of `signature` returning `n` (after
/// `lines`), in place.
fn save_number_of(file: &Path, signature: &str, lines: &str, n: u64) -> Saved {
    let text = std::fs::read_to_string(file).expect("read the edited file");
    let start = text
        .find(signature)
        .expect("the edited function in the file")
        + signature.len();
    let end = start + text[start..].find('}').expect("its end") + 1;
    let edited = format!("{}{}{}", &text[..start], value_body(lines, n), &text[end..]);
    let unix_ns = unix_ns(SystemTime::now());
    std::fs::write(file, edited).expect("save the edited file");
    Saved {
        unix_ns,
        stages: Vec::new(),
    }
}

/// Restores `value()` in `file` to its first version, so the release build
/// that measures calls is the same every run.
fn reset_value(file: &Path, lines: &str) {
    reset_number_of(file, VALUE, lines);
}

/// [`reset_value`] for the function of `signature`.
fn reset_number_of(file: &Path, signature: &str, lines: &str) {
    let text = std::fs::read_to_string(file).expect("read the edited file");
    if !text.contains(&format!("{signature}{}", value_body(lines, 0))) {
        save_number_of(file, signature, lines, 0);
    }
}

/// What the benchmark does with each tool: the same edit loop and the same
/// call loop.
pub trait Tool {
    /// Builds (dev) and starts the program, waiting for it to be ready.
    fn start(&self) -> Program;
    /// Saves the edited function returning `n`, and whatever the tool
    /// needs done after a save.
    fn edit(&self, n: u64) -> Saved;
}

/// What a hot call costs with each tool.
pub trait Calls {
    /// (plain, hot) nanoseconds per call, release build.
    fn calls(&self) -> (f64, f64);
}

/// hotreload's fixture for one scale.
pub struct Hotreload {
    dir: PathBuf,
    target: PathBuf,
    name: String,
    /// What the variant sets in the program's environment.
    env: Option<(&'static str, &'static str)>,
    /// What `value()` does besides returning its number.
    value_lines: &'static str,
    /// The function an edit rewrites: `value()`, or with `:helper` the
    /// plain function it calls.
    edited: &'static str,
}

impl Hotreload {
    /// The fixture of `spec`: a scale, or a variant of it in a package of
    /// its own: `<scale>:copies`, the same program run with
    /// `HOTRELOAD_ONE_COPY=0`; `<scale>:optmacros`, built with
    /// `[profile.dev.build-override] opt-level = 3` (optimized proc macros,
    /// `#[hot]` among them); `<scale>:unload`, run with old builds unloaded
    /// (`Reloader::unload_old_builds(2)`); `<scale>:full`, run with
    /// `HOTRELOAD_QUICK=0` (every build compiles every hot function);
    /// `<scale>:noprune`, run with `HOTRELOAD_PRUNE=0` (quick builds
    /// compile every item of the crate); `<scale>:helper`, where `value()`
    /// calls a plain function, whose number the edits change.
    pub fn create(fixtures: &Path, spec: &str) -> Hotreload {
        const VARIANTS: &str = "copies, optmacros, unload, full, noprune, helper";
        let (scale_name, variant) = match spec.split_once(':') {
            Some((scale, variant)) if VARIANTS.split(", ").any(|v| v == variant) => {
                (scale, Some(variant))
            }
            Some((_, other)) => panic!("unknown variant `{other}` of a scale: {VARIANTS}"),
            None => (spec, None),
        };
        let env = match variant {
            Some("copies") => Some(("HOTRELOAD_ONE_COPY", "0")),
            Some("unload") => Some(("HOTRELOAD_BENCH_UNLOAD", "2")),
            Some("full") => Some(("HOTRELOAD_QUICK", "0")),
            Some("noprune") => Some(("HOTRELOAD_PRUNE", "0")),
            _ => None,
        };
        let value_lines = if scale_name == "realistic" {
            REALISTIC_VALUE
        } else {
            ""
        };
        let profile = match variant {
            Some("optmacros") => "\n[profile.dev.build-override]\nopt-level = 3\n",
            _ => "",
        };
        let (deps, work, extra) = scale(scale_name);
        let scale_name = &spec.replace(':', "_");
        let dir = fixtures.join(format!("hotreload-{scale_name}"));
        let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hotreload-runtime");
        let runtime = runtime.canonicalize().expect("hotreload-runtime directory");
        let edited = if variant == Some("helper") {
            HELPER
        } else {
            VALUE
        };
        let fill = |text: &str| {
            let text = if edited == HELPER {
                text.replace(
                    "pub fn value() -> u64 {{VALUE}}",
                    &format!(
                        "pub fn value() -> u64 {{\n    bench_number()\n}}\n\n{HELPER}{{{{VALUE}}}}"
                    ),
                )
            } else {
                text.to_string()
            };
            text.replace("{{SCALE}}", scale_name)
                .replace("{{RUNTIME}}", &runtime.to_string_lossy())
                .replace("{{DEPS}}", deps)
                .replace("{{WORK}}", work)
                .replace("{{MORE}}", &extra)
                .replace("{{VALUE}}", &value_body(value_lines, 0))
        };
        write_if_changed(
            &dir.join("Cargo.toml"),
            &(fill(HOTRELOAD_MANIFEST) + profile),
        );
        write_if_changed(&dir.join("src/lib.rs"), &fill(HOTRELOAD_LIB));
        write_if_changed(&dir.join("src/main.rs"), &fill(HOTRELOAD_MAIN));
        Hotreload {
            dir,
            target: fixtures.join("target"),
            name: format!("latency_{scale_name}"),
            env,
            value_lines,
            edited,
        }
    }

    fn build(&self, release: bool) -> PathBuf {
        build_in(&self.dir, &self.target, &self.name, release)
    }

    /// Start-up after a source change: edits `value()` to return `n`,
    /// builds the program as a user would (`cargo build`), starts it and
    /// times it to its `ready` line (the reloader's start-up build done),
    /// in ms. `through_cargo`: forgets what an earlier run saved for the
    /// first build (its stand-ins' rlibs, without which the saved rustc
    /// command is not taken), so the start-up build goes through cargo.
    pub fn startup_after_change(&self, n: u64, through_cargo: bool) -> f64 {
        self.edit(n);
        let binary = self.build(false);
        if through_cargo {
            let hot_dir = self.target.join("hotreload").join(&self.name);
            for entry in std::fs::read_dir(hot_dir).into_iter().flatten().flatten() {
                if entry.path().extension().is_some_and(|e| e == "stand-ins") {
                    std::fs::remove_file(entry.path()).expect("remove the saved stand-ins");
                }
            }
        }
        time_to_ready(Command::new(binary))
    }

    /// Start-up with the sources as the last run left them (its start-up
    /// build taken as published), in ms.
    pub fn startup_unchanged(&self) -> f64 {
        time_to_ready(Command::new(self.build(false)))
    }
}

/// Starts `command` and times it to its `ready` line, in ms.
fn time_to_ready(command: Command) -> f64 {
    let started = Instant::now();
    let mut program = Program::start(command, Duration::from_secs(120));
    program.wait_for("the start-up build", Duration::from_secs(120), |line| {
        line.starts_with("ready ")
    });
    started.elapsed().as_secs_f64() * 1000.0
}

/// `cargo build` of the package in `dir` into `target`; the path of its
/// binary `name`.
fn build_in(dir: &Path, target: &Path, name: &str, release: bool) -> PathBuf {
    let mut command = cargo();
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target);
    if release {
        command.arg("--release");
    }
    eprintln!(
        "building {name} ({})",
        if release { "release" } else { "dev" }
    );
    run(command, "cargo build of the fixture");
    target
        .join(if release { "release" } else { "debug" })
        .join(name)
}

impl Calls for Hotreload {
    fn calls(&self) -> (f64, f64) {
        reset_number_of(&self.dir.join("src/lib.rs"), self.edited, self.value_lines);
        calls(Command::new(self.build(true)))
    }
}

impl Tool for Hotreload {
    fn start(&self) -> Program {
        let mut command = Command::new(self.build(false));
        if let Some((key, value)) = self.env {
            command.env(key, value);
        }
        let mut program = Program::start(command, Duration::from_secs(60));
        // The start-up build done: the first edit is timed as a user's.
        program.wait_for("the start-up build", Duration::from_secs(120), |line| {
            line.starts_with("ready ")
        });
        program
    }

    fn edit(&self, n: u64) -> Saved {
        save_number_of(
            &self.dir.join("src/lib.rs"),
            self.edited,
            self.value_lines,
            n,
        )
    }
}

/// A scale's library without `#[hot]` (nor the runtime), built with plain
/// `cargo build`: what hotreload's full builds are compared with.
pub struct PlainLibrary {
    dir: PathBuf,
    target: PathBuf,
    value_lines: &'static str,
}

impl PlainLibrary {
    /// The library of `hot` (made by [`Hotreload::create`]) with every
    /// `#[hot]` and its import removed, in a package of its own.
    pub fn of(hot: &Hotreload, fixtures: &Path, scale: &str) -> PlainLibrary {
        let dir = fixtures.join(format!("plain-{}", scale.replace(':', "_")));
        let lib = std::fs::read_to_string(hot.dir.join("src/lib.rs")).expect("the hot library");
        let lib: String = lib
            .lines()
            .filter(|line| line.trim() != "#[hot]" && line.trim() != "use hotreload_runtime::hot;")
            .map(|line| format!("{line}\n"))
            .collect();
        let (deps, _, _) = self::scale(scale.split(':').next().expect("a scale"));
        let manifest = format!(
            "[package]\nname = \"plain_{}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             publish = false\n\n[workspace]\n\n[dependencies]\n{deps}\n",
            scale.replace(':', "_")
        );
        write_if_changed(&dir.join("Cargo.toml"), &manifest);
        write_if_changed(&dir.join("src/lib.rs"), &lib);
        PlainLibrary {
            dir,
            target: hot.target.clone(),
            value_lines: hot.value_lines,
        }
    }

    /// Edits `value()` to return `n` and times `cargo build` of the
    /// library, in ms.
    pub fn rebuild(&self, n: u64) -> f64 {
        save_value(&self.dir.join("src/lib.rs"), self.value_lines, n);
        let mut command = cargo();
        command
            .args(["build", "--lib", "--quiet", "--manifest-path"])
            .arg(self.dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target);
        run(command, "cargo build of the plain library").as_secs_f64() * 1000.0
    }
}

/// hot-lib-reloader's fixture, run as one of its two binaries.
pub struct HotLibReloader {
    dir: PathBuf,
    bin: &'static str,
}

impl HotLibReloader {
    /// `bin`: `hlr_default` (its default 500 ms debounce) or `hlr_fast`.
    pub fn create(fixtures: &Path, bin: &'static str) -> HotLibReloader {
        let dir = fixtures.join("hot-lib-reloader");
        for (path, text) in HOT_LIB_RELOADER_FILES {
            write_if_changed(&dir.join(path), text);
        }
        HotLibReloader { dir, bin }
    }

    fn cargo(&self, args: &[&str]) -> Command {
        let mut command = cargo();
        command
            .args(args)
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            // Its own target directory under the fixture: hot-lib-reloader
            // looks for the dylib in `<package>/target/<profile>`.
            .env_remove("CARGO_TARGET_DIR");
        command
    }
}

impl Calls for HotLibReloader {
    fn calls(&self) -> (f64, f64) {
        reset_value(&self.dir.join("lib/src/lib.rs"), "");
        eprintln!("building hot-lib-reloader's fixture (release)");
        run(
            self.cargo(&["build", "--release", "--workspace"]),
            "cargo build --release",
        );
        calls(Command::new(self.dir.join("target/release").join(self.bin)))
    }
}

impl Tool for HotLibReloader {
    fn start(&self) -> Program {
        eprintln!("building hot-lib-reloader's fixture (dev)");
        run(self.cargo(&["build", "--workspace"]), "cargo build");
        let exe = self.dir.join("target/debug").join(self.bin);
        Program::start(Command::new(exe), Duration::from_secs(60))
    }

    /// Saves, then rebuilds the dylib at once (what `cargo watch` would do,
    /// minus its own delay).
    fn edit(&self, n: u64) -> Saved {
        let mut saved = save_value(&self.dir.join("lib/src/lib.rs"), "", n);
        let mut build = self.cargo(&["build", "-p", "lib", "--quiet"]);
        build.stderr(Stdio::null());
        let took = run(build, "cargo build -p lib");
        saved.stages.push((
            "cargo build -p lib (run by the bench)",
            took.as_secs_f64() * 1e3,
        ));
        saved
    }
}

/// subsecond's fixture for one scale, run by `dx serve --hot-patch`.
pub struct Subsecond {
    dir: PathBuf,
    /// What `value()` does besides returning its number.
    value_lines: &'static str,
    /// dx's server port: one per scale, since the scales run at once.
    port: u16,
}

impl Subsecond {
    /// The `small` or `realistic` scale as a subsecond program: the same
    /// `value()`, and for `realistic` the same 5 000 lines of library code,
    /// in the binary crate (subsecond patches the binary crate only), with
    /// no `#[hot]`. `None` (with the reason printed) when `dx` is not
    /// installed or the scale is another.
    pub fn create(fixtures: &Path, scale: &str) -> Option<Subsecond> {
        let (name, deps, more, value_lines, port) = match scale {
            "small" => ("subsecond", "", String::new(), "", 8080),
            "realistic" => (
                "subsecond-realistic",
                "bevy_ecs = \"0.17\"\n",
                realistic_library(10)
                    .replace("    use hotreload_runtime::hot;\n", "")
                    .replace("#[hot]\n    ", ""),
                REALISTIC_VALUE,
                8081,
            ),
            other => {
                eprintln!("subsecond runs the small and realistic scales, not `{other}`");
                return None;
            }
        };
        if !dx_installed() {
            return None;
        }
        let dir = fixtures.join(name);
        let [(_, manifest), (_, main)] = SUBSECOND_FILES;
        write_if_changed(&dir.join("Cargo.toml"), &format!("{manifest}{deps}"));
        let main = main.replace(
            &format!("fn value() -> u64 {}", value_body("", 0)),
            &format!("fn value() -> u64 {}", value_body(value_lines, 0)),
        );
        write_if_changed(&dir.join("src/main.rs"), &format!("{main}{more}"));
        Some(Subsecond {
            dir,
            value_lines,
            port,
        })
    }
}

impl Calls for Subsecond {
    fn calls(&self) -> (f64, f64) {
        reset_value(&self.dir.join("src/main.rs"), self.value_lines);
        let mut build = cargo();
        build
            .args(["build", "--release", "--manifest-path"])
            .arg(self.dir.join("Cargo.toml"))
            .env_remove("CARGO_TARGET_DIR");
        eprintln!("building subsecond's fixture (release)");
        run(build, "cargo build --release");
        calls(Command::new(
            self.dir.join("target/release/subsecond_bench"),
        ))
    }
}

impl Tool for Subsecond {
    fn start(&self) -> Program {
        dx_serve(&self.dir, self.port)
    }

    fn edit(&self, n: u64) -> Saved {
        save_value(&self.dir.join("src/main.rs"), self.value_lines, n)
    }
}

/// The Bevy app, one package per tool: (file, text).
const BEVY_HOTRELOAD_FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../fixtures/bevy/hotreload/Cargo.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../fixtures/bevy/hotreload/lib.rs"),
    ),
    (
        "src/main.rs",
        include_str!("../fixtures/bevy/hotreload/main.rs"),
    ),
];
const BEVY_SUBSECOND_FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../fixtures/bevy/subsecond/Cargo.toml"),
    ),
    (
        "src/main.rs",
        include_str!("../fixtures/bevy/subsecond/main.rs"),
    ),
];

/// Writes `file` with its system's number (`let now: u64 = <n>;`) as `n`,
/// in place.
fn save_number(file: &Path, n: u64) -> Saved {
    let text = std::fs::read_to_string(file).expect("read the edited file");
    let before = "let now: u64 = ";
    let start = text.find(before).expect("the number in the file") + before.len();
    let end = start + text[start..].find(';').expect("the number's end");
    let edited = format!("{}{n}{}", &text[..start], &text[end..]);
    let unix_ns = unix_ns(SystemTime::now());
    std::fs::write(file, edited).expect("save the edited file");
    Saved {
        unix_ns,
        stages: Vec::new(),
    }
}

/// A bevy_app App with `HotReloadPlugin`, its number in a hot system.
pub struct BevyHotreload {
    dir: PathBuf,
    target: PathBuf,
}

impl BevyHotreload {
    pub fn create(fixtures: &Path) -> BevyHotreload {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let root = root.canonicalize().expect("the workspace directory");
        let dir = fixtures.join("bevy-hotreload");
        for (path, text) in BEVY_HOTRELOAD_FILES {
            let text = text
                .replace(
                    "{{RUNTIME}}",
                    &root.join("hotreload-runtime").to_string_lossy(),
                )
                .replace("{{BEVY}}", &root.join("hotreload-bevy").to_string_lossy());
            write_if_changed(&dir.join(path), &text);
        }
        BevyHotreload {
            dir,
            target: fixtures.join("target"),
        }
    }
}

impl Tool for BevyHotreload {
    fn start(&self) -> Program {
        let exe = build_in(&self.dir, &self.target, "bevy_hotreload_bench", false);
        let mut command = Command::new(exe);
        command.env("CARGO_TARGET_DIR", &self.target);
        Program::start(command, Duration::from_secs(600))
    }

    fn edit(&self, n: u64) -> Saved {
        save_number(&self.dir.join("src/lib.rs"), n)
    }
}

/// The same App under Bevy's own hot patching (`dx serve --hot-patch`).
pub struct BevySubsecond {
    dir: PathBuf,
}

impl BevySubsecond {
    /// `None` (with the reason printed) when `dx` is not installed.
    pub fn create(fixtures: &Path) -> Option<BevySubsecond> {
        if !dx_installed() {
            return None;
        }
        let dir = fixtures.join("bevy-subsecond");
        for (path, text) in BEVY_SUBSECOND_FILES {
            write_if_changed(&dir.join(path), text);
        }
        Some(BevySubsecond { dir })
    }
}

impl Tool for BevySubsecond {
    fn start(&self) -> Program {
        dx_serve(&self.dir, 8082)
    }

    fn edit(&self, n: u64) -> Saved {
        save_number(&self.dir.join("src/main.rs"), n)
    }
}

/// Whether `dx` (subsecond's CLI) is installed; says so if not.
fn dx_installed() -> bool {
    match Command::new("dx").arg("--version").output() {
        Ok(output) if output.status.success() => {
            eprintln!("using {}", String::from_utf8_lossy(&output.stdout).trim());
            true
        }
        _ => {
            eprintln!(
                "`dx` is not installed: `cargo install dioxus-cli@0.7.10 --locked` \
                 (about 15 minutes) to compare with subsecond"
            );
            false
        }
    }
}

/// `dx serve --hot-patch` builds the program in `dir` (a fat build the
/// first time: minutes) and runs it, its server on `port`.
fn dx_serve(dir: &Path, port: u16) -> Program {
    let mut command = Command::new("dx");
    command
        .args([
            "serve",
            "--hot-patch",
            "--interactive",
            "false",
            "--open",
            "false",
            "--port",
        ])
        .arg(port.to_string())
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR");
    Program::start(command, Duration::from_secs(1800))
}

/// Runs a fixture with `--calls`: (plain, hot) nanoseconds per call.
fn calls(mut command: Command) -> (f64, f64) {
    let output = command.arg("--calls").output().expect("run --calls");
    let text = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<f64> = text
        .lines()
        .find_map(|line| line.strip_prefix("calls "))
        .unwrap_or_else(|| panic!("no `calls` line in: {text}"))
        .split(' ')
        .map(|n| n.parse().expect("a number"))
        .collect();
    (numbers[0], numbers[1])
}

/// A running fixture program; killed when dropped.
pub struct Program {
    child: Child,
    lines: Receiver<String>,
}

impl Program {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `command` and waits (up to `startup`) for `fixture ready`.
    fn start(mut command: Command, startup: Duration) -> Program {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so Drop can kill what it started too
            // (`dx` runs the program as its child; hotreload runs cargo).
            .process_group(0)
            .spawn()
            .expect("start the fixture program");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        let mut program = Program { child, lines };
        program.wait_for("the program to start", startup, |line| {
            line.contains("fixture ready")
        });
        program
    }

    fn wait_for(&mut self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
            assert!(!line.starts_with("failed "), "the reload failed: {line}");
            if done(&line) {
                return line;
            }
        }
    }

    /// Waits until the program calls code that returns `n`; returns the
    /// stages of the reload that brought it (those the program reports,
    /// after those the benchmark timed) and the time from the save to that
    /// first call, in ms.
    pub fn wait_for_value(
        &mut self,
        n: u64,
        saved: &Saved,
        timeout: Duration,
    ) -> (Vec<(&'static str, f64)>, f64) {
        let expected = format!("value {n} ");
        let mut reported = Vec::new();
        let line = self.wait_for(&format!("value() to return {n}"), timeout, |line| {
            line.contains(&expected) || line.starts_with("reload ")
        });
        let line = if line.starts_with("reload ") {
            // The reload line comes just before the value line.
            reported = reload_stages(&line, saved.unix_ns);
            self.wait_for(&format!("value() to return {n}"), timeout, |line| {
                line.contains(&expected)
            })
        } else {
            line
        };
        // `value <n> <ns>`, maybe behind a runner's prefix and before its
        // color codes.
        let first_call: u128 = line[line.find(&expected).expect("matched") + expected.len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|t| t.parse().ok())
            .expect("a timestamp");
        let mut stages = saved.stages.clone();
        stages.extend(reported);
        (
            stages,
            (first_call.saturating_sub(saved.unix_ns)) as f64 / 1e6,
        )
    }
}

/// The stages of a `reload saved_at=<unix ns> debounce=<ns> build=<ns> ...`
/// line, in ms, named for the report.
fn reload_stages(line: &str, save_unix_ns: u128) -> Vec<(&'static str, f64)> {
    const NAMES: &[(&str, &str)] = &[
        ("debounce", "file event -> build start (debounce)"),
        ("build", "build (rustc, or cargo after a manifest change)"),
        ("load", "check, copy, dlopen"),
        ("verify", "verify"),
        ("wait", "wait for update()"),
        ("apply", "apply"),
        ("total", "file event -> applied (total)"),
    ];
    let value = |key: &str| -> u128 {
        line.split(' ')
            .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no `{key}=` in the reload line `{line}`"))
    };
    let ms = |ns: u128| ns as f64 / 1e6;
    let mut stages = vec![(
        "save -> file event",
        ms(value("saved_at").saturating_sub(save_unix_ns)),
    )];
    stages.extend(NAMES.iter().map(|(key, name)| (*name, ms(value(key)))));
    stages
}

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group we created; at worst it has
        // already exited.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// What a process holds, from `/proc/<pid>`.
pub struct Memory {
    pub rss_kb: u64,
    pub size_kb: u64,
    /// Distinct deleted files mapped: the staged builds (unnamed copies)
    /// and the one-copy library of the program's symbols.
    pub builds: usize,
    pub fds: usize,
}

impl Memory {
    pub fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kb| kb.parse().ok())
                .unwrap_or(0)
        };
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
        let builds: std::collections::BTreeSet<&str> = maps
            .lines()
            .filter(|line| line.ends_with("(deleted)"))
            .filter_map(|line| line.split_whitespace().nth(4))
            .collect();
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count());
        Memory {
            rss_kb: field("VmRSS:"),
            size_kb: field("VmSize:"),
            builds: builds.len(),
            fds,
        }
    }
}
