//! [`Rustc`]: the rustc command cargo ran for a package's hot build,
//! captured from `cargo -vv`, so that the next edit of a `.rs` file can run
//! it directly and skip cargo's resolution and fingerprinting of every unit
//! (about 50 ms on a small crate). Saved to disk for the next run of the
//! program, whose first cargo build finds the library fresh and runs no
//! rustc at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// First field of a saved rustc command.
const SAVED_FORMAT: &str = "hotreload rustc command v2";

/// A rustc invocation as cargo made it: environment, program (rustc or a
/// `RUSTC_WRAPPER`), arguments and working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rustc {
    env: Vec<(String, String)>,
    pub program: String,
    pub args: Vec<String>,
    cwd: PathBuf,
}

impl Rustc {
    /// Finds the hot build's command in cargo's `-vv` output: the `Running`
    /// line of the package's library (the primary package; not its build
    /// script). `None` if cargo did not run it
    /// (nothing to rebuild) or the line cannot be read.
    pub fn from_cargo_output(stderr: &str, package_dir: &Path) -> Option<Rustc> {
        let command = stderr.lines().find_map(|line| {
            let command = line
                .trim_start()
                .strip_prefix("Running `")?
                .strip_suffix('`')?;
            (command.contains("CARGO_PRIMARY_PACKAGE=1")
                && !command.contains("--crate-name build_script_")
                && !command.contains("--crate-type bin"))
            .then_some(command)
        })?;
        let words = shell_words::split(command).ok()?;
        let is_assignment = |word: &str| {
            word.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        };
        let split = words.iter().position(|word| !is_assignment(word))?;
        let env = words[..split]
            .iter()
            .filter_map(|word| word.split_once('='))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let program = words.get(split)?.clone();
        let args = words[split + 1..].to_vec();
        // Cargo runs rustc from the workspace root (or the package's own
        // directory) and names the source relative to it.
        let source = args
            .iter()
            .find(|arg| arg.ends_with(".rs") && !arg.starts_with('-'))?;
        let cwd = package_dir
            .ancestors()
            .find(|dir| dir.join(source).is_file())?
            .to_path_buf();
        Some(Rustc {
            env,
            program,
            args,
            cwd,
        })
    }

    /// A command of these arguments alone (for tests).
    #[cfg(test)]
    pub fn from_args(args: &str) -> Rustc {
        Rustc {
            env: Vec::new(),
            program: "rustc".to_string(),
            args: args.split_whitespace().map(String::from).collect(),
            cwd: PathBuf::from("/"),
        }
    }

    /// Keeps the command for the next run of the program.
    ///
    /// Written as NUL-separated fields, not with serde: a serde_json
    /// serializer instantiated here would be a shared generic the user's
    /// own `serde_json::to_string` could bind to, pulling this crate's
    /// objects (and their dependencies) into every reloaded library.
    pub fn save(&self, path: &Path) {
        let mut fields = vec![SAVED_FORMAT, &self.program];
        let cwd = self.cwd.to_str();
        fields.extend(cwd);
        let count = self.env.len().to_string();
        fields.push(&count);
        fields.extend(self.env.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
        fields.extend(self.args.iter().map(String::as_str));
        let saved = match cwd {
            None => Err(std::io::Error::other("the directory is not UTF-8")),
            Some(_) => path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(path, fields.join("\0"))),
        };
        if let Err(error) = saved {
            tracing::debug!(
                "cannot save the rustc command to {}: {error}",
                path.display()
            );
        }
    }

    /// The command an earlier run saved, if it builds the same package
    /// with the same hot flags (cargo's freshness says the rest is
    /// unchanged).
    pub fn load(path: &Path, package_dir: &Path, hot_flags: &[String]) -> Option<Rustc> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut fields = text.split('\0').map(String::from);
        if fields.next()? != SAVED_FORMAT {
            return None;
        }
        let program = fields.next()?;
        let cwd = PathBuf::from(fields.next()?);
        let count: usize = fields.next()?.parse().ok()?;
        let mut env = Vec::with_capacity(count);
        for _ in 0..count {
            env.push((fields.next()?, fields.next()?));
        }
        let rustc = Rustc {
            env,
            program,
            args: fields.collect(),
            cwd,
        };
        let same_package = rustc
            .env
            .iter()
            .any(|(name, value)| name == "CARGO_MANIFEST_DIR" && Path::new(value) == package_dir);
        (same_package && rustc.args.ends_with(hot_flags)).then_some(rustc)
    }

    /// The compiler (through its wrapper, if any) in cargo's environment,
    /// without this crate's arguments.
    pub fn base_command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args[..self.wrapper_args()])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .stdin(Stdio::null());
        command
    }

    /// The directory it runs in.
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// The crate's own arguments (after a wrapper's).
    pub fn crate_args(&self) -> &[String] {
        &self.args[self.wrapper_args()..]
    }

    /// With a `RUSTC_WRAPPER`, the arguments before rustc's own (the
    /// path of rustc).
    fn wrapper_args(&self) -> usize {
        self.args
            .iter()
            .take_while(|arg| !arg.starts_with('-'))
            .count()
    }

    /// The name the crate gives `library` (a crate name, as in its rlib's
    /// file name), if it names it.
    pub fn extern_of(&self, library: &str) -> Option<String> {
        let prefix = format!("{}{library}-", std::env::consts::DLL_PREFIX);
        self.externs()
            .find(|(_, path)| {
                Path::new(path)
                    .file_name()
                    .is_some_and(|file| file.to_string_lossy().starts_with(&prefix))
            })
            .map(|(name, _)| name.to_string())
    }

    /// The `--extern name=path` pairs, each path the dependency's rlib
    /// (cargo names the `.rmeta` for a library: the rlib is beside it).
    pub fn externs(&self) -> impl Iterator<Item = (&str, String)> {
        self.args
            .windows(2)
            .filter(|pair| pair[0] == "--extern")
            .filter_map(|pair| pair[1].split_once('='))
            .filter(|(name, _)| !name.contains(':'))
            .map(|(name, path)| match path.strip_suffix(".rmeta") {
                Some(stem) => (name, format!("{stem}.rlib")),
                None => (name, path.to_string()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hot_rustc_command_is_read_from_cargo_output() {
        let workspace = tempfile::tempdir().unwrap();
        let package = workspace.path().join("logic");
        std::fs::create_dir_all(package.join("src")).unwrap();
        std::fs::write(package.join("src/lib.rs"), "").unwrap();
        let stderr = "       Fresh linkme v0.3.35\n     \
            Running `CARGO=/bin/cargo CARGO_PKG_NAME=logic CARGO_PKG_DESCRIPTION='a b' \
            CARGO_PRIMARY_PACKAGE=1 /bin/rustc --crate-name logic --edition=2024 logic/src/lib.rs \
            --crate-type lib --check-cfg 'cfg(feature, values())' -C prefer-dynamic`\n    \
            Finished `dev` profile";
        let rustc = Rustc::from_cargo_output(stderr, &package).unwrap();
        assert_eq!(rustc.program, "/bin/rustc");
        assert!(
            rustc
                .env
                .contains(&("CARGO_PKG_DESCRIPTION".into(), "a b".into()))
        );
        assert_eq!(rustc.env.len(), 4);
        assert!(rustc.args.contains(&"cfg(feature, values())".to_string()));
        // Cargo named the source relative to the workspace root.
        assert_eq!(rustc.cwd, workspace.path());
        // Without the library's line (cargo found it fresh): nothing.
        assert_eq!(Rustc::from_cargo_output("Fresh logic", &package), None);
    }

    #[test]
    fn a_saved_command_is_used_only_for_the_same_package_and_hot_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hotreload/logic/rustc-dev-host");
        let flags = vec!["-C".to_string(), "prefer-dynamic".to_string()];
        let package = dir.path().join("logic");
        let rustc = Rustc {
            env: vec![
                ("CARGO_MANIFEST_DIR".into(), package.display().to_string()),
                (
                    "CARGO_PKG_DESCRIPTION".into(),
                    "two\nlines, \"quoted\"".into(),
                ),
            ],
            program: "/bin/rustc".into(),
            args: [
                "--crate-name",
                "logic",
                "src/lib.rs",
                "-C",
                "prefer-dynamic",
            ]
            .map(String::from)
            .to_vec(),
            cwd: dir.path().to_path_buf(),
        };
        rustc.save(&path);
        assert_eq!(Rustc::load(&path, &package, &flags), Some(rustc));
        let other_flags = ["-C".to_string(), "debuginfo=2".to_string()];
        assert_eq!(Rustc::load(&path, &package, &other_flags), None);
        // Another copy of the package, building into the same target dir.
        assert_eq!(Rustc::load(&path, &dir.path().join("copy"), &flags), None);
        assert_eq!(
            Rustc::load(&dir.path().join("none.json"), &package, &flags),
            None
        );
    }

    #[test]
    fn a_wrapper_keeps_its_arguments_before_the_crates() {
        let rustc = Rustc {
            env: vec![],
            program: "sccache".into(),
            args: ["/bin/rustc", "--crate-name", "logic"]
                .map(String::from)
                .to_vec(),
            cwd: PathBuf::from("/"),
        };
        assert_eq!(rustc.crate_args(), ["--crate-name", "logic"]);
    }
}
