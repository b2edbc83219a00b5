//! Upgrades: new code for a program that has no cargo, no sources and no
//! toolchain (a service where it runs), built where the program was built
//! and pushed to it over a Unix socket.
//!
//! - `make` (run by `cargo hotreload upgrade`): the program itself, run
//!   where it was built, builds its hot packages as a reload would and
//!   writes them with the libraries they need into one upgrade file (`file`, with `reload`).
//! - the reloader's listener ([`Reloader::accept_upgrades`](crate::Reloader::accept_upgrades)):
//!   the running program takes pushed upgrades on its socket, checks the
//!   signature, the binary and the sequence number before anything is
//!   written or loaded, then loads, verifies and applies each build as a
//!   reload (`update()` applies it, as any reload), and answers with what
//!   happened; `rollback` takes the newest upgrade back; `status` lists
//!   the generations.
//!
//! See the README's *Upgrading a service* for the operator's side and the
//! security model.

#[cfg(feature = "reload")]
pub mod file;
// Without `reload` the module holds `Upgrades` only.
#[cfg(feature = "reload")]
pub(crate) mod make;

use std::path::PathBuf;

/// Where a program takes upgrades, and whose: for
/// [`Reloader::accept_upgrades`](crate::Reloader::accept_upgrades).
///
/// ```no_run
/// # use hotreload_runtime::{Reloader, Upgrades};
/// # fn main() -> Result<(), hotreload_runtime::Error> {
/// let _hot = Reloader::start()?
///     .accept_upgrades(
///         Upgrades::unix_socket("/run/my-service/upgrades.sock")
///             // The `.pub` file `cargo hotreload keygen` wrote, e.g. with
///             // `include_str!("../upgrades.pub")`.
///             .trust("5e1f0b7c8d2a4e6f9a3b1c0d2e4f6a8b9c1d3e5f7a9b0c2d4e6f8a0b1c3d5e7f"),
///     )?
///     .in_background();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "reload"), allow(dead_code))]
pub struct Upgrades {
    pub(crate) socket: PathBuf,
    /// Public keys, as `cargo hotreload keygen` writes them (hex).
    pub(crate) trusted: Vec<String>,
}

impl Upgrades {
    /// Listens on a Unix socket at `path`, created readable and writable
    /// by this user only; a peer of another user is refused even if the
    /// file's mode is changed. A file already at `path` that no program
    /// listens on is replaced.
    pub fn unix_socket(path: impl Into<PathBuf>) -> Upgrades {
        Upgrades {
            socket: path.into(),
            trusted: Vec::new(),
        }
    }

    /// Takes upgrades signed by this public key (64 hex digits, as in the
    /// `.pub` file `cargo hotreload keygen` writes; surrounding whitespace
    /// is ignored). Call it once per key; with no key, every upgrade is
    /// refused.
    pub fn trust(mut self, public_key: &str) -> Upgrades {
        self.trusted.push(public_key.trim().to_string());
        self
    }
}
