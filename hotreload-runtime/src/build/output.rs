//! [`Output`]: what a build printed that matters (the artifact, the
//! stand-in crates' rlibs, warnings, errors), read from cargo's JSON messages or
//! rustc's JSON diagnostics ([`crate::build::cargo_json`]).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::build::cargo_json::{CargoMessage, Diagnostic, RustcLine};

#[derive(Default)]
pub struct Output {
    pub artifact: Option<PathBuf>,
    /// `(crate, rlib)` of each stand-in crate built (see
    /// `build::STAND_INS`).
    pub stand_ins: Vec<(String, PathBuf)>,
    pub warnings: usize,
    /// Rendered errors, and lines that were not JSON (a wrapper's or the
    /// linker's own words).
    pub errors: Vec<String>,
}

impl Output {
    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        if diagnostic.is_error() {
            self.errors
                .push(diagnostic.rendered.unwrap_or(diagnostic.message));
        } else if diagnostic.level == "warning" {
            self.warnings += 1;
        }
    }

    /// Cargo's JSON messages (its stdout with `--message-format json`),
    /// building the library of the package at `manifest` (the artifact of
    /// interest comes from the direct build after it).
    pub fn read_cargo(&mut self, stdout: impl Read, manifest: &Path) {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(message) = miniserde::json::from_str::<CargoMessage>(&line) else {
                continue;
            };
            let Some(target) = &message.target else {
                continue;
            };
            let ours = target.is_library()
                && message
                    .manifest_path
                    .as_deref()
                    .is_some_and(|path| Path::new(path) == manifest);
            match message.reason.as_str() {
                "compiler-artifact"
                    if super::STAND_INS
                        .iter()
                        .any(|(_, stand_in)| target.name == *stand_in) =>
                {
                    if let Some(rlib) = file_ending(message.filenames.unwrap_or_default(), ".rlib")
                    {
                        self.stand_ins.push((target.name.clone(), rlib));
                    }
                }
                // Cargo replays the cached warnings of other workspace
                // members; count only this library's.
                "compiler-message" => {
                    if let Some(diagnostic) = message.message
                        && (diagnostic.is_error() || ours)
                    {
                        self.diagnostic(diagnostic);
                    }
                }
                _ => {}
            }
        }
    }

    /// rustc's JSON lines (its stderr with `--error-format=json
    /// --json=artifacts`).
    pub fn read_rustc(&mut self, stderr: impl Read) {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let parsed = miniserde::json::from_str::<RustcLine>(&line);
            match parsed {
                Ok(line) if line.message_type.as_deref() == Some("artifact") => {
                    if line.emit.as_deref() == Some("link")
                        && let Some(artifact) = line.artifact
                        && artifact.ends_with(std::env::consts::DLL_SUFFIX)
                    {
                        self.artifact = Some(PathBuf::from(artifact));
                    }
                }
                Ok(line) if line.level.is_some() => {
                    if let Some(diagnostic) = line.into_diagnostic() {
                        self.diagnostic(diagnostic);
                    }
                }
                _ if !line.trim().is_empty() => self.errors.push(format!("{line}\n")),
                _ => {}
            }
        }
    }
}

/// Cargo's stderr without its `-vv` progress lines: what is left are its
/// own error messages.
pub fn cargo_messages(stderr: &str) -> String {
    const PROGRESS: &[&str] = &[
        "Running ",
        "Fresh ",
        "Dirty ",
        "Compiling ",
        "Finished ",
        "Locking ",
        "Blocking ",
        "Updating ",
        "Downloaded ",
        "Downloading ",
        "[",
    ];
    stderr
        .lines()
        .filter(|line| !PROGRESS.iter().any(|p| line.trim_start().starts_with(p)))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The one of an artifact's files whose name ends with `suffix`.
fn file_ending(files: Vec<String>, suffix: &str) -> Option<PathBuf> {
    files
        .into_iter()
        .find(|file| file.ends_with(suffix))
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustc_lines_give_the_artifact_errors_and_warnings() {
        let warning = r#"{"$message_type":"diagnostic","message":"unused","code":null,"level":"warning","spans":[],"children":[],"rendered":"warning: unused\n"}"#;
        let error = r#"{"$message_type":"diagnostic","message":"bad","code":null,"level":"error","spans":[],"children":[],"rendered":"error: bad\n"}"#;
        let artifact = r#"{"$message_type":"artifact","artifact":"/t/liblogic.so","emit":"link"}"#;
        let text = format!("{warning}\n{error}\n{artifact}\nlinker said no\n");
        let mut output = Output::default();
        output.read_rustc(text.as_bytes());
        assert_eq!(output.warnings, 1);
        assert_eq!(output.errors, ["error: bad\n", "linker said no\n"]);
        assert_eq!(output.artifact, Some(PathBuf::from("/t/liblogic.so")));
    }

    #[test]
    fn cargo_messages_count_this_librarys_warnings_only() {
        let message = |manifest: &str, reason: &str, rest: &str| {
            format!(
                r#"{{"reason":"{reason}","manifest_path":"{manifest}","target":{{"kind":["lib"],"crate_types":["lib"],"name":"logic"}},{rest}}}"#
            )
        };
        let warning = r#""message":{"level":"warning","message":"unused","rendered":"w"}"#;
        let lines = [
            message("/ws/other/Cargo.toml", "compiler-message", warning),
            message("/ws/logic/Cargo.toml", "compiler-message", warning),
            message(
                "/ws/logic/Cargo.toml",
                "compiler-artifact",
                r#""filenames":["/t/deps/liblogic-1f.rlib","/t/deps/liblogic-1f.rmeta"]"#,
            ),
        ];
        let mut output = Output::default();
        output.read_cargo(
            lines.join("\n").as_bytes(),
            Path::new("/ws/logic/Cargo.toml"),
        );
        assert_eq!(output.warnings, 1);
    }

    #[test]
    fn cargo_progress_is_not_an_error_message() {
        let stderr = "   Compiling logic v0.1.0\n     Running `rustc ...`\nerror: no such \
                      package\n";
        assert_eq!(cargo_messages(stderr), "error: no such package\n");
    }
}
