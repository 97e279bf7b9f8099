//! The command's process group: signalling every process in it, and telling when none is left.
//!
//! On Linux `lease run` is a child subreaper ([`adopt_orphans`]): processes of the command whose
//! parent exits are re-parented to `lease` instead of to init, so `lease` reaps them itself and
//! sees at once when the group is empty (an init that reaps late would otherwise leave exited
//! processes in the group for a while).

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::time::Instant;

/// How often [`ProcessGroup::wait_empty_until`] looks whether the group is empty.
const POLL: Duration = Duration::from_millis(20);

/// Makes this process a child subreaper (Linux; elsewhere, and on failure, nothing changes:
/// orphans go to init, and [`ProcessGroup::wait_empty_until`] waits for init to reap them).
pub(crate) fn adopt_orphans() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
}

/// A process group that `lease run` made for the command (the command is its leader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessGroup(Pid);

impl ProcessGroup {
    /// The group whose leader is the process `pid` (spawned with `process_group(0)`); `None`
    /// for a pid out of range.
    pub(crate) fn led_by(pid: u32) -> Option<Self> {
        i32::try_from(pid)
            .ok()
            .filter(|&pid| pid > 1)
            .map(|pid| Self(Pid::from_raw(pid)))
    }

    /// Sends `signal` to every process in the group. Returns whether the group still had a
    /// process (a group that is gone is not an error).
    pub(crate) fn signal(self, signal: Signal) -> bool {
        !matches!(killpg(self.0, signal), Err(Errno::ESRCH))
    }

    /// Whether no process is left in the group (not even one that has exited but was not yet
    /// reaped), after reaping the group's exited processes that are our children (orphans
    /// adopted by [`adopt_orphans`]). Call it only after the group's leader (the command) was
    /// reaped, so that this reaps no child that tokio waits for.
    pub(crate) fn is_empty(self) -> bool {
        let group = Pid::from_raw(-self.0.as_raw());
        while let Ok(status) = waitpid(group, Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
        }
        matches!(killpg(self.0, None), Err(Errno::ESRCH))
    }

    /// Waits until the group is empty or `deadline` passes; returns whether it is empty. As
    /// [`is_empty`](Self::is_empty), only after the leader was reaped.
    pub(crate) async fn wait_empty_until(self, deadline: Instant) -> bool {
        loop {
            if self.is_empty() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            tokio::time::sleep_until((now + POLL).min(deadline)).await;
        }
    }
}

impl std::fmt::Display for ProcessGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process group {}", self.0)
    }
}
