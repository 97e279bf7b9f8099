//! The signals `lease run` handles itself: every signal whose default action ends a process and
//! that another process can send (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
//! SIGIO, SIGPROF, SIGVTALRM, SIGXCPU, SIGXFSZ, SIGPWR). While waiting for the lease they end
//! `lease` (the command is not started); while the command runs they are forwarded to its
//! process group. Left to their default action, they would end `lease` and leave the command
//! running without renewals and without being stopped at the lease's safe deadline.
//!
//! Not handled: SIGKILL and SIGSTOP (cannot be), SIGPIPE (ignored by Rust programs), and the
//! signals of a fault in `lease` itself (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS),
//! which must not return to the faulting instruction.

use std::task::{Context, Poll, Waker};

use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};

use crate::exit::Failure;

/// The signals handled, in the order they are looked at when several are pending (and, on
/// Linux, SIGPWR).
pub(crate) const HANDLED: [Signal; 12] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGIO,
    Signal::SIGPROF,
    Signal::SIGVTALRM,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
];

/// Listeners for the [`HANDLED`] signals. Once installed, these signals no longer end the
/// process by default: they are delivered here.
#[derive(Debug)]
pub(crate) struct Signals {
    listeners: Vec<(Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Installs the listeners (on the current tokio runtime).
    ///
    /// # Errors
    /// An internal failure if a handler cannot be installed.
    pub(crate) fn install() -> Result<Self, Failure> {
        let listen = |kind: SignalKind, name: Signal| {
            signal(kind)
                .map(|listener| (name, listener))
                .map_err(|e| Failure::internal(format!("cannot handle {name}: {e}")))
        };
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let extra = [Signal::SIGPWR];
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let extra: [Signal; 0] = [];
        let listeners = HANDLED
            .iter()
            .chain(&extra)
            .map(|&name| listen(SignalKind::from_raw(name as i32), name))
            .collect::<Result<_, _>>()?;
        Ok(Self { listeners })
    }

    /// The next signal received.
    pub(crate) async fn recv(&mut self) -> Signal {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// A signal received and not yet taken, if any; does not wait.
    pub(crate) fn pending(&mut self) -> Option<Signal> {
        match self.poll_recv(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(signal) => Some(signal),
            Poll::Pending => None,
        }
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Signal> {
        for (name, listener) in &mut self.listeners {
            if let Poll::Ready(Some(())) = listener.poll_recv(cx) {
                return Poll::Ready(*name);
            }
        }
        Poll::Pending
    }
}
