//! [`Cancel`]: stops a build in flight from another thread, by killing its
//! whole process group (cargo, rustc, the linker).

use std::io;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// Shared by the thread that runs a build and the thread that may cancel it.
#[derive(Default)]
pub struct Cancel {
    /// The process group of the build in flight, while its leader has not
    /// been reaped; `None` otherwise.
    group: Mutex<Option<u32>>,
    cancelled: AtomicBool,
}

impl Cancel {
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        let group = self.group.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(group) = *group {
            kill_group(group);
        }
    }

    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Runs `during` (reading the child's output) and waits for `child`, the
    /// leader of its own process group, with the group open to
    /// [`Cancel::cancel`] all the while. The child is reaped only after the
    /// group is closed again, so its id cannot be reused while `cancel` may
    /// still signal it.
    pub fn wait_for<T>(
        &self,
        child: &mut Child,
        during: impl FnOnce(&mut Child) -> T,
    ) -> (T, io::Result<ExitStatus>) {
        {
            let mut group = self.group.lock().unwrap_or_else(PoisonError::into_inner);
            *group = Some(child.id());
            if self.cancelled() {
                // Cancelled between the spawn and here.
                kill_group(child.id());
            }
        }
        let value = during(child);
        let exited = wait_without_reaping(child.id());
        *self.group.lock().unwrap_or_else(PoisonError::into_inner) = None;
        (value, exited.and_then(|()| child.wait()))
    }
}

fn kill_group(group: u32) {
    // SAFETY: kill(2) has no memory-safety preconditions. The group is the
    // one our child leads, and the child is not reaped yet (see
    // `Cancel::wait_for`): the id still names that group, never a stranger
    // (unless the program reaps children it did not start, with SIGCHLD
    // ignored or `waitpid(-1)`).
    unsafe { libc::kill(-(group as libc::pid_t), libc::SIGKILL) };
}

/// Waits until the child `pid` has exited, leaving it a zombie (`WNOWAIT`)
/// for `Child::wait` to reap.
pub fn wait_without_reaping(pid: u32) -> io::Result<()> {
    loop {
        // SAFETY: an all-zero `siginfo_t` is a valid value (a C struct of
        // integers and a union of them).
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable `siginfo_t`; waitid writes
        // only into it.
        let waited = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if waited == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    #[test]
    fn a_cancel_kills_the_group_and_the_exit_is_still_reaped() {
        let cancel = Cancel::default();
        let mut child = Command::new("sh")
            .args(["-c", "sleep 60 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let (_, status) = cancel.wait_for(&mut child, |_| cancel.cancel());
        let status = status.unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
        assert!(cancel.group.lock().unwrap().is_none());
    }

    #[test]
    fn a_cancel_before_the_wait_still_kills() {
        let cancel = Cancel::default();
        cancel.cancel();
        let mut child = Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap();
        let (_, status) = cancel.wait_for(&mut child, |_| ());
        assert!(!status.unwrap().success());
    }
}
