//! What cargo and rustc print as JSON, as the types the build reads, and
//! `cargo metadata`.
//!
//! Parsed with miniserde, not serde_json and cargo_metadata: a crate that
//! names this runtime loads its whole dependency graph into type inference,
//! and serde_json's `impl PartialEq<Value> for usize` (and for every other
//! primitive) made the user's own `assert_eq!(f(), vec![])` ambiguous.
//! Only the fields read are declared; the others are skipped.

use std::path::Path;
use std::process::{Command, Stdio};

use miniserde::Deserialize;

/// A cargo target (`compiler-artifact`, `compiler-message`).
#[derive(Deserialize, Debug)]
pub struct Target {
    pub name: String,
    pub kind: Vec<String>,
}

impl Target {
    /// A library target (`lib`, `rlib`, `cdylib`...), not a binary, test or
    /// build script.
    pub fn is_library(&self) -> bool {
        self.kind.iter().any(|kind| kind.ends_with("lib"))
    }
}

/// A compiler diagnostic (rustc's line, or inside cargo's message).
#[derive(Deserialize, Debug)]
pub struct Diagnostic {
    /// `error`, `warning`, `error: internal compiler error`, `note`, ...
    pub level: String,
    pub message: String,
    pub rendered: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.level.starts_with("error")
    }
}

/// One line of `cargo --message-format json`.
#[derive(Deserialize, Debug)]
pub struct CargoMessage {
    /// `compiler-artifact`, `compiler-message`, `build-finished`, ...
    pub reason: String,
    /// The package's `Cargo.toml`.
    pub manifest_path: Option<String>,
    pub target: Option<Target>,
    pub filenames: Option<Vec<String>>,
    pub message: Option<Diagnostic>,
}

/// One line of rustc's `--error-format=json --json=artifacts`: an artifact
/// notice or a diagnostic.
#[derive(Deserialize, Debug)]
pub struct RustcLine {
    #[serde(rename = "$message_type")]
    pub message_type: Option<String>,
    pub artifact: Option<String>,
    pub emit: Option<String>,
    pub level: Option<String>,
    pub message: Option<String>,
    pub rendered: Option<String>,
}

impl RustcLine {
    pub fn into_diagnostic(self) -> Option<Diagnostic> {
        Some(Diagnostic {
            level: self.level?,
            message: self.message?,
            rendered: self.rendered,
        })
    }
}

/// `cargo metadata --format-version 1`.
#[derive(Deserialize, Debug)]
pub struct Metadata {
    pub packages: Vec<Package>,
    pub resolve: Option<Resolve>,
}

#[derive(Deserialize, Debug)]
pub struct Package {
    pub name: String,
    pub id: String,
    /// `None` for a path package.
    pub source: Option<String>,
    pub manifest_path: String,
    pub dependencies: Vec<Dependency>,
    pub targets: Vec<Target>,
}

#[derive(Deserialize, Debug)]
pub struct Dependency {
    pub name: String,
    pub rename: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct Resolve {
    pub nodes: Vec<Node>,
}

#[derive(Deserialize, Debug)]
pub struct Node {
    pub id: String,
    pub deps: Vec<NodeDep>,
}

#[derive(Deserialize, Debug)]
pub struct NodeDep {
    /// The name the depending crate knows it by (`extern crate` name).
    pub name: String,
    pub pkg: String,
    pub dep_kinds: Option<Vec<DepKind>>,
}

#[derive(Deserialize, Debug)]
pub struct DepKind {
    /// `None` for a normal dependency, else `dev` or `build`.
    pub kind: Option<String>,
}

impl NodeDep {
    /// A normal (not dev, not build) dependency.
    pub fn is_normal(&self) -> bool {
        self.dep_kinds
            .as_ref()
            .is_none_or(|kinds| kinds.is_empty() || kinds.iter().any(|k| k.kind.is_none()))
    }
}

/// Runs `cargo metadata` for `manifest` with `extra` arguments, in the
/// manifest's directory: cargo reads `.cargo/config.toml` (a source
/// replacement, a vendored registry) from where it runs, and the program
/// may have been started from anywhere.
pub fn metadata(cargo: &Path, manifest: &Path, extra: &[&str]) -> Result<Metadata, String> {
    let mut command = Command::new(cargo);
    if let Some(dir) = manifest.parent() {
        command.current_dir(dir);
    }
    let output = command
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(manifest)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{} metadata`: {e}", cargo.display()))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
    }
    let text = String::from_utf8(output.stdout).map_err(|e| e.to_string())?;
    miniserde::json::from_str(&text)
        .map_err(|_| "cargo metadata printed JSON of an unknown shape".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_and_rustc_lines() {
        let artifact: CargoMessage = miniserde::json::from_str(
            r#"{"reason":"compiler-artifact","package_id":"x","manifest_path":"/l/Cargo.toml","target":{"kind":["lib"],
            "crate_types":["cdylib"],"name":"logic","src_path":"/l/src/lib.rs","edition":"2024",
            "doc":true,"doctest":false,"test":true},"profile":{"opt_level":"0"},
            "features":[],"filenames":["/t/liblogic.so"],"executable":null,"fresh":false}"#,
        )
        .unwrap();
        assert!(artifact.target.unwrap().is_library());
        assert_eq!(artifact.filenames.unwrap(), ["/t/liblogic.so"]);
        let line: RustcLine = miniserde::json::from_str(
            r#"{"$message_type":"diagnostic","message":"bad","code":null,"level":"error",
            "spans":[{"file_name":"src/lib.rs","line_start":1}],"children":[],
            "rendered":"error: bad\n"}"#,
        )
        .unwrap();
        assert_eq!(line.message_type.as_deref(), Some("diagnostic"));
        assert!(line.into_diagnostic().unwrap().is_error());
    }
}
