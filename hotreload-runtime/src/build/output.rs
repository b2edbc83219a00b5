//! [`Output`]: what a build printed that matters (the artifact, the core
//! crate's rlib, warnings, errors), read from cargo's JSON messages or
//! rustc's JSON diagnostics.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use cargo_metadata::Message;
use cargo_metadata::diagnostic::{Diagnostic, DiagnosticLevel};

#[derive(Default)]
pub struct Output {
    pub artifact: Option<PathBuf>,
    /// The core crate's rlib (see `build::Links::runtime`).
    pub core: Option<PathBuf>,
    pub warnings: usize,
    /// Rendered errors, and lines that were not JSON (a wrapper's or the
    /// linker's own words).
    pub errors: Vec<String>,
}

impl Output {
    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        match diagnostic.level {
            DiagnosticLevel::Error | DiagnosticLevel::Ice => self
                .errors
                .push(diagnostic.rendered.unwrap_or(diagnostic.message)),
            DiagnosticLevel::Warning => self.warnings += 1,
            _ => {}
        }
    }

    /// Cargo's JSON messages (its stdout with `--message-format json`).
    pub fn read_cargo(&mut self, stdout: impl Read) {
        for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
            match message {
                Message::CompilerArtifact(built) if built.target.name == "hotreload_core" => {
                    self.core = file_ending(built.filenames, ".rlib");
                }
                Message::CompilerArtifact(built) if is_hot_library(&built.target) => {
                    self.artifact = file_ending(built.filenames, std::env::consts::DLL_SUFFIX);
                }
                // Cargo replays the cached warnings of other workspace
                // members; count only this library's.
                Message::CompilerMessage(message) => {
                    let error = matches!(
                        message.message.level,
                        DiagnosticLevel::Error | DiagnosticLevel::Ice
                    );
                    if error || is_hot_library(&message.target) {
                        self.diagnostic(message.message)
                    }
                }
                _ => {}
            }
        }
    }

    /// rustc's JSON lines (its stderr with `--error-format=json
    /// --json=artifacts`).
    pub fn read_rustc(&mut self, stderr: impl Read) {
        #[derive(serde::Deserialize)]
        struct Artifact {
            artifact: PathBuf,
            emit: String,
        }
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(artifact) = serde_json::from_str::<Artifact>(&line) {
                if artifact.emit == "link"
                    && artifact
                        .artifact
                        .to_string_lossy()
                        .ends_with(std::env::consts::DLL_SUFFIX)
                {
                    self.artifact = Some(artifact.artifact);
                }
            } else if let Ok(diagnostic) = serde_json::from_str(&line) {
                self.diagnostic(diagnostic);
            } else if !line.trim().is_empty() {
                self.errors.push(format!("{line}\n"));
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

/// The library target built as a cdylib (not a build script).
fn is_hot_library(target: &cargo_metadata::Target) -> bool {
    target.crate_types.iter().any(|t| t.to_string() == "cdylib")
        && !target.kind.iter().any(|k| k.to_string() == "custom-build")
}

/// The one of an artifact's files whose name ends with `suffix`.
fn file_ending(files: Vec<cargo_metadata::camino::Utf8PathBuf>, suffix: &str) -> Option<PathBuf> {
    files
        .into_iter()
        .find(|file| file.as_str().ends_with(suffix))
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
    fn cargo_progress_is_not_an_error_message() {
        let stderr = "   Compiling logic v0.1.0\n     Running `rustc ...`\nerror: no such \
                      package\n";
        assert_eq!(cargo_messages(stderr), "error: no such package\n");
    }
}
