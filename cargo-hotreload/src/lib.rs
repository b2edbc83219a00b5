//! `cargo hotreload`: keys, upgrades and their delivery, for programs that
//! take new code where they run
//! ([`Reloader::accept_upgrades`](hotreload_runtime::Reloader::accept_upgrades)).
//!
//! ```text
//! cargo hotreload keygen upgrades                  # upgrades.key (secret), upgrades.pub
//! cargo build --release                            # the binary you deploy
//! # ... edit a #[hot] function ...
//! git worktree add ../deployed v1.0                # the sources it was built from
//! cargo hotreload upgrade --binary target/release/service --base ../deployed \
//!     --key upgrades.key --sequence 1 --out service-1.upgrade
//! cargo hotreload push --socket /run/service/upgrades.sock service-1.upgrade
//! cargo hotreload status --socket /run/service/upgrades.sock
//! cargo hotreload rollback --socket /run/service/upgrades.sock
//! ```
//!
//! `upgrade` runs where the binary was built: the same sources (edited),
//! the same toolchain and the target directory that built it. It runs the
//! binary itself with `HOTRELOAD_MAKE_UPGRADE` set, which builds the hot
//! packages as a reload would and exits before the program does anything
//! else (so `Reloader::start` comes first in `main`); then numbers and
//! signs what it wrote. Before writing, the program loads each new build
//! and checks it against itself as the service will, and against the
//! sources it was built from (`--base`) for what the service cannot see
//! without them: a changed type a hot signature reaches (`HOT011`), also
//! behind a reference. An edit refused there for another reason makes no
//! upgrade. An edit no reload can take (a changed hot signature or state
//! type) makes an upgrade only with `--restart`: one that carries the new
//! binary, built as a restart in development builds it (in place of the
//! old one in the target directory); the program restarts into it with
//! its state and listening sockets, if it keeps its state
//! ([`Reloader::keep_state`](hotreload_runtime::Reloader::keep_state)). `push`, `status` and `rollback` talk to the
//! program's socket and print its answer; they fail (exit code 1) when it
//! refuses. A remote host's socket is reached through ssh's forwarding:
//! `ssh -L /tmp/service.sock:/run/service/upgrades.sock host`.
//!
//! The file format and the checks are in
//! [`hotreload_runtime::upgrade`].

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use ed25519_dalek::SigningKey;
use hotreload_runtime::upgrade::file::{Kind, Signed, Upgrade, build_id, hex, signing_key};

#[derive(Parser)]
#[command(name = "cargo hotreload", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command_,
}

#[derive(Subcommand)]
enum Command_ {
    /// Makes a signing key: NAME.key (secret, mode 0600) and NAME.pub (the
    /// public key, for `Upgrades::trust`).
    Keygen {
        /// Path and name of the two files, without extension.
        name: PathBuf,
    },
    /// Builds the hot packages of BINARY from the sources as they are now
    /// and writes them as a signed upgrade for that very binary.
    Upgrade {
        /// The binary that runs at the service, as cargo built it (in its
        /// target directory).
        #[arg(long)]
        binary: PathBuf,
        /// The secret key (`keygen`'s NAME.key).
        #[arg(long)]
        key: PathBuf,
        /// Above every upgrade pushed to the program before.
        #[arg(long)]
        sequence: u64,
        /// The sources BINARY was built from (a checkout of the deployed
        /// version: the package, or the repository it is in): the edit's
        /// types are checked against them, which the service, without
        /// sources, cannot do.
        #[arg(long)]
        base: PathBuf,
        /// For an edit no reload can take (a changed hot signature or
        /// state type): carry the program's new binary, for it to restart
        /// into with its state. Builds it in place of BINARY, which is
        /// then what the service runs once the upgrade is pushed.
        #[arg(long)]
        restart: bool,
        /// Where to write it (default: BINARY-NAME-SEQUENCE.upgrade here).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Sends an upgrade to a running program and prints its answer.
    Push {
        /// The program's upgrade socket.
        #[arg(long)]
        socket: PathBuf,
        /// The upgrade file.
        file: PathBuf,
    },
    /// Takes back the newest upgrade the program applied (each of its
    /// builds).
    Rollback {
        /// The program's upgrade socket.
        #[arg(long)]
        socket: PathBuf,
    },
    /// Lists the program's generations and the newest upgrade it took.
    Status {
        /// The program's upgrade socket.
        #[arg(long)]
        socket: PathBuf,
    },
}

/// Runs the command line `args` (the program name first; `cargo hotreload
/// ...` passes `hotreload` second, which is skipped): what to print, or why
/// it failed.
pub fn run(args: impl IntoIterator<Item = String>) -> Result<String, String> {
    let mut args: Vec<String> = args.into_iter().collect();
    if args.get(1).is_some_and(|arg| arg == "hotreload") {
        args.remove(1);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return Ok(e.to_string());
        }
        Err(e) => return Err(e.to_string()),
    };
    match cli.command {
        Command_::Keygen { name } => keygen(&name),
        Command_::Upgrade {
            binary,
            key,
            sequence,
            base,
            restart,
            out,
        } => {
            let out = out.unwrap_or_else(|| {
                let name = binary.file_name().unwrap_or_default().to_string_lossy();
                PathBuf::from(format!("{name}-{sequence}.upgrade"))
            });
            upgrade(&binary, &key, sequence, &base, restart, &out)
        }
        Command_::Push { socket, file } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
            request(&socket, &format!("push {}\n", bytes.len()), &bytes)
        }
        Command_::Rollback { socket } => request(&socket, "rollback\n", &[]),
        Command_::Status { socket } => request(&socket, "status\n", &[]),
    }
}

/// Writes a new key pair.
fn keygen(name: &Path) -> Result<String, String> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut seed))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let (secret, public) = (name.with_extension("key"), name.with_extension("pub"));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&secret)
        .and_then(|mut file| writeln!(file, "{}", hex(&key.to_bytes())))
        .map_err(|e| format!("cannot write `{}`: {e}", secret.display()))?;
    let public_hex = hex(key.verifying_key().as_bytes());
    std::fs::write(&public, format!("{public_hex}\n"))
        .map_err(|e| format!("cannot write `{}`: {e}", public.display()))?;
    Ok(format!(
        "wrote {} (secret: keep it where upgrades are built) and {} (public: {public_hex})\n",
        secret.display(),
        public.display()
    ))
}

/// Has `binary` build its hot packages, then numbers and signs the result.
fn upgrade(
    binary: &Path,
    key: &Path,
    sequence: u64,
    base: &Path,
    restart: bool,
    out: &Path,
) -> Result<String, String> {
    if key.extension().is_some_and(|ext| ext == "pub") {
        return Err(format!(
            "`{}` is a public key: sign with the secret one (`keygen`'s NAME.key)",
            key.display()
        ));
    }
    if sequence == 0 {
        return Err("sequence numbers start at 1".into());
    }
    let key = std::fs::read_to_string(key)
        .map_err(|e| format!("cannot read the key `{}`: {e}", key.display()))
        .and_then(|text| signing_key(&text))?;
    let (mut upgrade, said_by_program) = unsigned(binary, base, restart)?;
    upgrade.sequence = sequence;
    let file = upgrade.sign(&key);
    // Checked as the program will check it.
    Signed::open(&file, &[key.verifying_key()]).map_err(|e| e.to_string())?;
    std::fs::write(out, &file).map_err(|e| format!("cannot write `{}`: {e}", out.display()))?;
    let summary: Vec<String> = (upgrade.pieces.iter())
        .map(|piece| format!("{} ({} KB)", piece.name, piece.data.len() / 1024))
        .collect();
    // What the program said of the edit: the hot functions it changes, or
    // that it changes none.
    let mut said: String = (said_by_program.lines())
        .filter(|line| line.starts_with("[hotreload] `") || line.starts_with("[hotreload] warning"))
        .map(|line| format!("{}\n", line.trim_start_matches("[hotreload] ")))
        .collect();
    said.push_str(&format!(
        "wrote {} (upgrade {sequence} for build id {}): {}\n",
        out.display(),
        hex(&upgrade.binary),
        summary.join(", ")
    ));
    if let Some(new) = upgrade
        .pieces
        .iter()
        .find(|piece| piece.kind == Kind::Binary)
    {
        let id = build_id(&new.data).map(|id| hex(&id)).unwrap_or_default();
        said.push_str(&format!(
            "the edit is one no reload can take ({}): the program restarts into the new binary \
             (build id {id}) with its state. Make later upgrades with `--binary {}` (now that \
             binary) and `--base` the sources it was built from (these)\n",
            (said_by_program.lines())
                .find_map(|line| line.strip_prefix("[hotreload] "))
                .and_then(|line| line.split(": the upgrade carries").next())
                .unwrap_or("see above"),
            binary.display()
        ));
    }
    Ok(said)
}

/// Has `binary` build its hot packages and write them as an upgrade, not
/// yet numbered nor signed; with what it said on stderr.
fn unsigned(binary: &Path, base: &Path, restart: bool) -> Result<(Upgrade, String), String> {
    let base = std::path::absolute(base)
        .map_err(|e| format!("cannot find the base `{}`: {e}", base.display()))?;
    // A directory of ours (0700): no other user can put or change a file
    // there between the program writing the upgrade and our signing it.
    let scratch_dir = tempfile::Builder::new()
        .prefix("hotreload-upgrade-")
        .tempdir()
        .map_err(|e| format!("cannot make a scratch directory: {e}"))?;
    let scratch = scratch_dir.path().join("unsigned.upgrade");
    let mut command = Command::new(binary);
    if restart {
        command.env("HOTRELOAD_UPGRADE_RESTART", "1");
    }
    let output = command
        .env("HOTRELOAD_MAKE_UPGRADE", &scratch)
        .env("HOTRELOAD_UPGRADE_BASE", &base)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", binary.display()));
    let body = std::fs::read(&scratch);
    let output = output?;
    let body = match body {
        Ok(body) if output.status.success() => body,
        _ => {
            return Err(format!(
                "`{}` made no upgrade ({}); it said:\n{}",
                binary.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    };
    let upgrade =
        Upgrade::parse(&body).map_err(|e| format!("the program wrote no valid upgrade: {e}"))?;
    Ok((
        upgrade,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// Sends one request to the program's socket; its answer, or `Err` with it
/// when the program refused.
fn request(socket: &Path, line: &str, body: &[u8]) -> Result<String, String> {
    let mut stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to `{}`: {e}", socket.display()))?;
    stream
        .write_all(line.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|e| format!("cannot send to `{}`: {e}", socket.display()))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    match answer.strip_prefix("ok ") {
        Some(ok) => Ok(ok.to_string()),
        None if answer.is_empty() => {
            Err("the program closed the connection without an answer".into())
        }
        None => Err(answer
            .strip_prefix("err ")
            .unwrap_or(&answer)
            .trim_end()
            .to_string()),
    }
}
