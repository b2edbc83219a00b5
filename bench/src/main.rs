//! Save-to-new-code latency, stage by stage, and call overhead: hotreload
//! side by side with hot-lib-reloader, on fixture packages generated under
//! `target/bench-fixtures/`.
//!
//! ```text
//! cargo run --release -p hotreload-bench -- [--soak N] [--startup N] [--plain] [--edits N] [--scale small,deps,heavy,many,realistic,<scale>:copies,<scale>:optmacros,<scale>:unload,<scale>:full,<scale>:noprune,<scale>:helper] [--processes N] [--no-peer] [--subsecond]
//! ```
//!
//! Each edit rewrites the number returned by `value()` in place (as most
//! editors save) and waits, with a timeout, for the running program to print
//! the new number. hotreload's program also reports when each stage of the
//! reload ended. hot-lib-reloader needs something to rebuild its dylib (its
//! README uses `cargo watch`); here the benchmark runs `cargo build -p lib`
//! itself right after the save, with no delay, which favours it.
//!
//! `--processes N` also runs N copies of the small program at once (a game
//! server and its clients) and edits their one source: each save is built
//! once, by one of them.
//!
//! `--subsecond` also runs Dioxus subsecond (`dx serve --hot-patch`) on the
//! same edit of the `small` and `realistic` scales (the realistic library
//! in subsecond's binary crate, the one crate it patches), each beside
//! hotreload's program of that scale and edited in turn with it; it
//! prints the ratio per scale. It needs `dx` installed (`cargo install
//! dioxus-cli@0.7.10 --locked`, about 15 minutes), so it is off by default.
//!
//! `--bevy` runs a bevy_app App twice at the same time: with
//! `HotReloadPlugin`, its number in a hot system, and (with `dx`) under
//! Bevy's own hot patching (bevy_app's `hotpatching`, `dx serve
//! --hot-patch`), its number in a system; the edits alternate between the
//! two, so a slow spell of the machine hits both alike. Measured: save ->
//! the first frame that prints the new number.
//!
//! Scales (hotreload only): `small` (no dependency besides the runtime),
//! `deps` (serde_json, rand, glam), `heavy` (bevy_ecs), `many` (`small` and
//! 400 more hot functions, in 20 modules), `realistic` (5 000 lines: 100
//! hot functions using bevy_ecs and 400 plain helpers, in 10 modules; there
//! the edited function also does what the library's functions do: spawns
//! and queries one of its components and calls a helper). The first build of a
//! scale compiles its dependencies and can take minutes. The scales' programs
//! run side by side and are edited in turn (one edit of each, then the next
//! round), so a slow spell of a shared machine hits every scale alike and
//! their ratios stay meaningful.
//!
//! `<scale>:copies` (`--scale small,small:copies`) is the same program run
//! with `HOTRELOAD_ONE_COPY=0`: reloaded code on copies of `std` and of the
//! dependencies instead of the program's own, for what one copy costs.
//! `--plain` also times a plain `cargo build` of each scale's library with
//! every `#[hot]` removed, after the same edits, against hotreload's build
//! stage (`--scale many:full` for its full builds).
//!
//! `--startup N` instead starts each `--scale` program N times after a
//! source change (and `cargo build`) with its first build taking the rustc
//! command an earlier run saved, N times going through cargo, and N times
//! with unchanged sources, in turn, and prints the time to `ready` each way.
//! `--soak N` instead reloads each `--scale` program N times in a row and
//! prints its resident and mapped memory, unnamed files mapped and open file
//! descriptors every 50 reloads.
//!
//! `<scale>:optmacros` is the same program built with optimized proc
//! macros (`[profile.dev.build-override] opt-level = 3`), for what an
//! unoptimized `#[hot]` costs each rebuild. `<scale>:unload` is the same
//! program unloading old builds (`Reloader::unload_old_builds(2)`), for
//! `--soak`; `<scale>:full` with quick builds off (`HOTRELOAD_QUICK=0`);
//! `<scale>:noprune` with quick builds that compile every item
//! (`HOTRELOAD_PRUNE=0`); `<scale>:helper` edits a plain function that
//! `value()` calls instead of `value()` itself (an edit outside hot bodies
//! that a quick build takes).

mod fixture;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use fixture::{
    BevyHotreload, BevySubsecond, Calls, HotLibReloader, Hotreload, PlainLibrary, Program,
    Subsecond, Tool,
};
use stats::Samples;

/// The stage every tool is compared by.
const FIRST_CALL: &str = "save -> first new call";

/// The first edit after start (not in the medians of the others).
const FIRST_EDIT: &str = "first edit after start: save -> first new call";

/// A section header and its call-overhead line.
fn print_calls(title: &str, hot: &str, (plain, hot_ns): (f64, f64)) {
    println!(
        "\n## {title}\ncall: plain {plain:.2} ns, {hot} {hot_ns:.2} ns (+{:.2} ns)",
        hot_ns - plain
    );
}

/// How long one edit may take before the run is declared failed.
const EDIT_TIMEOUT: Duration = Duration::from_secs(120);

struct Options {
    edits: usize,
    scales: Vec<String>,
    peer: bool,
    subsecond: bool,
    /// The Bevy app with both tools side by side.
    bevy: bool,
    /// Also run this many copies of the small program at once.
    processes: usize,
    /// Instead of the comparison: this many reloads of each scale, with
    /// its memory every 50.
    soak: Option<usize>,
    /// Instead of the comparison: this many start-ups of each scale after
    /// a source change, each way.
    startup: Option<usize>,
    /// Also time a plain `cargo build` of each scale's library without
    /// `#[hot]`, edited the same way.
    plain: bool,
}

fn options() -> Options {
    let mut options = Options {
        edits: 10,
        scales: vec!["small".into()],
        peer: true,
        subsecond: false,
        bevy: false,
        processes: 0,
        soak: None,
        startup: None,
        plain: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--edits" => {
                options.edits = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--edits takes a number")
            }
            "--scale" => {
                options.scales = args
                    .next()
                    .expect("--scale takes small,deps,heavy,many,realistic (each also as <scale>:copies, <scale>:optmacros, <scale>:unload, <scale>:full, <scale>:noprune or <scale>:helper)")
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "--no-peer" => options.peer = false,
            "--processes" => {
                options.processes = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--processes takes a number")
            }
            "--subsecond" => options.subsecond = true,
            "--bevy" => options.bevy = true,
            "--plain" => options.plain = true,
            "--startup" => {
                options.startup = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .expect("--startup takes a number of start-ups"),
                )
            }
            "--soak" => {
                options.soak = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .expect("--soak takes a number of reloads"),
                )
            }
            other => panic!("unknown argument `{other}`; see the doc comment of bench/src/main.rs"),
        }
    }
    options
}

/// `<workspace>/target/bench-fixtures`.
fn fixtures_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ has a parent")
        .to_path_buf();
    workspace.join("target/bench-fixtures")
}

fn main() {
    let options = options();
    let dir = fixtures_dir();
    println!(
        "machine: {} cores; {} edits per run; times in ms unless marked",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        options.edits
    );

    if let Some(rounds) = options.startup {
        for scale in &options.scales {
            startup(&Hotreload::create(&dir, scale), scale, rounds);
        }
        return;
    }

    if let Some(reloads) = options.soak {
        for scale in &options.scales {
            soak(&Hotreload::create(&dir, scale), scale, reloads);
        }
        return;
    }

    let mut medians = scales_side_by_side(&dir, &options);

    if options.processes > 0 {
        medians.push(copies(&dir, options.processes, options.edits));
    }
    if options.peer {
        medians.extend(hot_lib_reloader(&dir, options.edits));
    }

    if options.bevy {
        medians.extend(bevy_side_by_side(&dir, options.edits));
    }

    println!("\n## save -> first new call, median");
    let base = medians.first().map(|(_, ms)| *ms).unwrap_or(1.0);
    for (name, ms) in &medians {
        println!("{name:<45} {ms:>8.1} ms  {:>5.2}x", ms / base);
    }
}

/// The `--scale` programs, and subsecond's of the same scales with
/// `--subsecond`, running at once, edited in turn; their stages, the
/// ratios per scale (and against plain cargo with `--plain`), and their
/// medians.
fn scales_side_by_side(dir: &std::path::Path, options: &Options) -> Vec<(String, f64)> {
    let mut medians = Vec::new();
    let scales: Vec<Hotreload> = options
        .scales
        .iter()
        .map(|scale| Hotreload::create(dir, scale))
        .collect();
    let calls: Vec<(f64, f64)> = scales.iter().map(Calls::calls).collect();
    let subsecond: Vec<(&String, Subsecond)> = options
        .scales
        .iter()
        .filter(|_| options.subsecond)
        .filter_map(|scale| Some((scale, Subsecond::create(dir, scale)?)))
        .collect();
    if let Some((_, small)) = subsecond.iter().find(|(scale, _)| *scale == "small") {
        print_calls(
            "subsecond 0.7.10 (dx serve --hot-patch)",
            "subsecond::call",
            small.calls(),
        );
    }
    let tools: Vec<&dyn Tool> = scales
        .iter()
        .map(|scale| scale as &dyn Tool)
        .chain(subsecond.iter().map(|(_, tool)| tool as &dyn Tool))
        .collect();
    let mut programs: Vec<Program> = tools.iter().map(|tool| tool.start()).collect();
    let mut samples = edit_rounds(&mut programs, options.edits, |i, n| tools[i].edit(n));
    drop(programs);
    let subsecond_samples = samples.split_off(scales.len());
    for ((scale, calls), stages) in options.scales.iter().zip(calls).zip(&samples) {
        print_calls(&format!("hotreload, scale `{scale}`"), "#[hot]", calls);
        stats::print_stages(stages);
        medians.push((format!("hotreload ({scale})"), stages.median(FIRST_CALL)));
    }
    for ((scale, _), stages) in subsecond.iter().zip(&subsecond_samples) {
        println!("\n## subsecond 0.7.10 (dx serve --hot-patch), scale `{scale}`, interleaved");
        stats::print_stages(stages);
        medians.push((
            format!("subsecond ({scale}, dx serve --hot-patch)"),
            stages.median(FIRST_CALL),
        ));
    }
    if options.plain {
        for (scale, (tool, stages)) in options.scales.iter().zip(scales.iter().zip(&samples)) {
            plain_builds(dir, scale, tool, stages, options.edits);
        }
    }
    for ((scale, _), theirs) in subsecond.iter().zip(&subsecond_samples) {
        let index = options.scales.iter().position(|s| s == *scale);
        let ours = samples[index.expect("a scale of the run")].median(FIRST_CALL);
        let theirs = theirs.median(FIRST_CALL);
        println!(
            "scale `{scale}`, save -> first new call: hotreload {ours:.1} ms, subsecond \
             {theirs:.1} ms: {:.2}x",
            ours / theirs
        );
    }
    medians
}

/// `processes` copies of the small program, one source edited: the
/// slowest copy's median.
fn copies(dir: &std::path::Path, processes: usize, edits: usize) -> (String, f64) {
    let small = Hotreload::create(dir, "small");
    let mut programs: Vec<Program> = (0..processes).map(|_| small.start()).collect();
    let stages = edit_together(&mut programs, edits, |n| small.edit(n));
    drop(programs);
    let title = format!("hotreload, {processes} copies of the small program");
    println!("\n## {title}");
    stats::print_stages(&stages);
    (title, stages.median(SLOWEST))
}

/// hot-lib-reloader with its default debounce and a short one.
fn hot_lib_reloader(dir: &std::path::Path, edits: usize) -> Vec<(String, f64)> {
    let variants = [
        ("hlr_default", "default 500 ms debounce"),
        ("hlr_fast", "debounce 50 ms"),
    ];
    let mut medians = Vec::new();
    for (index, (bin, label)) in variants.into_iter().enumerate() {
        let tool = HotLibReloader::create(dir, bin);
        if index == 0 {
            print_calls("hot-lib-reloader 0.8.2", "hot", tool.calls());
        }
        let stages = edit_loop(&tool, edits);
        println!("\n{label}:");
        stats::print_stages(&stages);
        medians.push((
            format!("hot-lib-reloader ({label})"),
            stages.median(FIRST_CALL),
        ));
    }
    medians
}

/// The Bevy app with hotreload and (if `dx` is there) with Bevy's own hot
/// patching, running at once, edited in turn; their medians, and the ratio.
fn bevy_side_by_side(dir: &std::path::Path, edits: usize) -> Vec<(String, f64)> {
    let hotreload = BevyHotreload::create(dir);
    let subsecond = BevySubsecond::create(dir);
    let mut tools: Vec<(&str, &dyn Tool)> = vec![("hotreload-bevy (Bevy app)", &hotreload)];
    if let Some(subsecond) = &subsecond {
        tools.push(("Bevy hotpatching, dx serve (Bevy app)", subsecond));
    }
    let mut programs: Vec<Program> = tools.iter().map(|(_, tool)| tool.start()).collect();
    let samples = edit_rounds(&mut programs, edits, |i, n| tools[i].1.edit(n));
    drop(programs);
    let mut medians = Vec::new();
    for ((name, _), stages) in tools.iter().zip(samples) {
        println!("\n## {name}, interleaved");
        stats::print_stages(&stages);
        medians.push((name.to_string(), stages.median(FIRST_CALL)));
    }
    if let [(_, ours), (_, theirs)] = medians.as_slice() {
        println!(
            "Bevy app, save -> new frame: hotreload-bevy {ours:.1} ms, Bevy hotpatching \
             {theirs:.1} ms: {:.2}x",
            ours / theirs
        );
    }
    medians
}

/// The build stage hotreload's programs report.
const BUILD: &str = "build (rustc, or cargo after a manifest change)";

/// `edits` plain `cargo build`s of the scale's library without `#[hot]`
/// (after one not counted), each after the same edit as hotreload's, and
/// their median against the median of hotreload's builds of the scale.
fn plain_builds(
    dir: &std::path::Path,
    scale: &str,
    tool: &Hotreload,
    stages: &Samples,
    edits: usize,
) {
    let plain = PlainLibrary::of(tool, dir, scale);
    let mut samples = Samples::default();
    for n in 0..=edits as u64 {
        let ms = plain.rebuild(3000 + n);
        if n > 0 {
            samples.add("cargo build", ms);
        }
    }
    let (ours, theirs) = (stages.median(BUILD), samples.median("cargo build"));
    println!(
        "scale `{scale}`: hotreload's build {ours:.1} ms, plain `cargo build` of the library \
         without #[hot] {theirs:.1} ms: {:.2}x",
        ours / theirs
    );
}

/// `rounds` start-ups of one program after a source change each way, in
/// turn: the first build taking the rustc command an earlier run saved,
/// and going through cargo (cargo's rlib, then the cdylib: the library
/// compiled twice); and as many with the sources unchanged since the last
/// one (its start-up build taken as published).
fn startup(tool: &Hotreload, scale: &str, rounds: usize) {
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    // A first start-up through cargo saves the command the others take.
    tool.startup_after_change(4000, true);
    for n in 0..rounds as u64 {
        for (way, through_cargo) in [false, true].into_iter().enumerate() {
            times[way].push(tool.startup_after_change(4001 + 2 * n + way as u64, through_cargo));
        }
        times[2].push(tool.startup_unchanged());
    }
    println!("\n## start-up to ready, scale `{scale}`, {rounds} each way");
    let ways = [
        "after a change, saved rustc command",
        "after a change, through cargo",
        "sources unchanged",
    ];
    for (way, name) in ways.iter().enumerate() {
        let times = &mut times[way];
        times.sort_by(f64::total_cmp);
        println!(
            "{name:<36} min {:>7.1} ms   median {:>7.1} ms   max {:>7.1} ms",
            times[0],
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
}

/// `reloads` edits of one program, one after the other; every 50, what the
/// process holds: resident memory, the unnamed files mapped (each staged
/// build, `(deleted)` in `/proc/<pid>/maps`, and the one-copy library of
/// the program's symbols), open descriptors.
fn soak(tool: &Hotreload, scale: &str, reloads: usize) {
    let mut program = tool.start();
    println!("\n## soak, scale `{scale}`, {reloads} reloads");
    println!(
        "reloads   VmRSS MB   VmSize MB   files mapped    open fds   save -> new code, median of the last 50"
    );
    let mut recent = Vec::new();
    for n in 0..=reloads as u64 {
        if n > 0 {
            let saved = tool.edit(5000 + n);
            recent.push(program.wait_for_value(5000 + n, &saved, EDIT_TIMEOUT).1);
        }
        if n % 50 == 0 {
            let memory = fixture::Memory::of(program.pid());
            recent.sort_by(f64::total_cmp);
            let median = recent
                .get(recent.len() / 2)
                .map_or(String::from("-"), |ms| format!("{ms:.1} ms"));
            println!(
                "{n:>7}   {:>8.1}   {:>9.1}   {:>13}   {:>8}   {median}",
                memory.rss_kb as f64 / 1024.0,
                memory.size_kb as f64 / 1024.0,
                memory.builds,
                memory.fds,
            );
            recent.clear();
        }
    }
}

/// [`edit_rounds`] with one tool's program.
fn edit_loop(tool: &dyn Tool, edits: usize) -> Samples {
    let mut program = tool.start();
    let programs = std::slice::from_mut(&mut program);
    edit_rounds(programs, edits, |_, n| tool.edit(n)).remove(0)
}

/// The stage the copies of one program are compared by.
const SLOWEST: &str = "save -> first new call, slowest copy";

/// Edits the one fixture `programs` all run, and waits for each to call
/// the new code; samples the slowest and the fastest copy's time.
fn edit_together(
    programs: &mut [Program],
    edits: usize,
    edit: impl Fn(u64) -> fixture::Saved,
) -> Samples {
    let mut samples = Samples::default();
    for n in 0..=edits as u64 {
        let saved = edit(1000 + n);
        let times: Vec<f64> = programs
            .iter_mut()
            .map(|program| program.wait_for_value(1000 + n, &saved, EDIT_TIMEOUT).1)
            .collect();
        if n == 0 {
            continue; // warm-up
        }
        samples.add(
            "save -> first new call, fastest copy",
            times.iter().copied().fold(f64::MAX, f64::min),
        );
        samples.add(SLOWEST, times.iter().copied().fold(0.0, f64::max));
    }
    samples
}

/// Edits `value()` of each program in turn to return 1000..=1000+edits
/// (the first round, the first edit after start, is kept apart) and
/// collects, per program
/// and edit, the stage times the program reports and the time from the
/// save to the first call of the new code.
fn edit_rounds(
    programs: &mut [Program],
    edits: usize,
    edit: impl Fn(usize, u64) -> fixture::Saved,
) -> Vec<Samples> {
    let mut samples: Vec<Samples> = programs.iter().map(|_| Samples::default()).collect();
    for n in 0..=edits as u64 {
        for (i, program) in programs.iter_mut().enumerate() {
            let saved = edit(i, 1000 + n);
            let (stages, first_call) = program.wait_for_value(1000 + n, &saved, EDIT_TIMEOUT);
            if n == 0 {
                // Not in the medians: the first edit after start.
                samples[i].add(FIRST_EDIT, first_call);
                continue;
            }
            for (name, ms) in stages {
                samples[i].add(name, ms);
            }
            samples[i].add(FIRST_CALL, first_call);
        }
    }
    samples
}
