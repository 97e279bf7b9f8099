//! The signals `lease run` handles itself: every signal whose default action ends a process and
//! that another process can send: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
//! SIGIO, SIGPROF, SIGVTALRM, SIGXCPU, SIGXFSZ and, on Linux, SIGPWR, SIGSTKFLT and the
//! real-time signals (SIGRTMIN to SIGRTMAX). While waiting for the lease they end `lease` (the
//! command is not started); while the command runs they are forwarded to its process group (a
//! real-time signal or SIGSTKFLT, which cannot be named to the kernel call used here, as SIGTERM).
//! Left to their default action, they would end `lease` and leave the command running without
//! renewals and without being stopped at the lease's safe deadline.
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

/// A signal received: its number, and the signal to forward to the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Received {
    /// The signal's number.
    pub(crate) number: i32,
    /// The signal, if it has a name of its own here; `None` for a real-time signal or
    /// SIGSTKFLT.
    named: Option<Signal>,
}

impl Received {
    /// The signal to send the command's process group: the one received, or SIGTERM for one
    /// that has no name here.
    pub(crate) fn forwarded(self) -> Signal {
        self.named.unwrap_or(Signal::SIGTERM)
    }
}

/// `SIGUSR1`, or `signal 34` for a signal without a name here.
impl std::fmt::Display for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.named {
            Some(signal) => write!(f, "{signal}"),
            None => write!(f, "signal {}", self.number),
        }
    }
}

/// Listeners for the handled signals. Once installed, these signals no longer end the process
/// by default: they are delivered here.
#[derive(Debug)]
pub(crate) struct Signals {
    listeners: Vec<(Received, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Installs the listeners (on the current tokio runtime).
    ///
    /// # Errors
    /// An internal failure if a handler cannot be installed.
    pub(crate) fn install() -> Result<Self, Failure> {
        let listen = |received: Received| {
            signal(SignalKind::from_raw(received.number))
                .map(|listener| (received, listener))
                .map_err(|e| Failure::internal(format!("cannot handle {received}: {e}")))
        };
        let named = HANDLED.iter().map(|&signal| Received {
            number: signal as i32,
            named: Some(signal),
        });
        let listeners = named
            .chain(linux_only())
            .map(listen)
            .collect::<Result<_, _>>()?;
        Ok(Self { listeners })
    }

    /// The next signal received.
    pub(crate) async fn recv(&mut self) -> Received {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// A signal received and not yet taken, if any; does not wait.
    pub(crate) fn pending(&mut self) -> Option<Received> {
        match self.poll_recv(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(signal) => Some(signal),
            Poll::Pending => None,
        }
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Received> {
        for (name, listener) in &mut self.listeners {
            if let Poll::Ready(Some(())) = listener.poll_recv(cx) {
                return Poll::Ready(*name);
            }
        }
        Poll::Pending
    }
}

/// SIGPWR, SIGSTKFLT and the real-time signals, on Linux (where their default action ends a
/// process).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn linux_only() -> Vec<Received> {
    let mut received = vec![Received {
        number: Signal::SIGPWR as i32,
        named: Some(Signal::SIGPWR),
    }];
    received.push(Received {
        number: Signal::SIGSTKFLT as i32,
        named: None,
    });
    received.extend(
        (nix::libc::SIGRTMIN()..=nix::libc::SIGRTMAX()).map(|number| Received {
            number,
            named: None,
        }),
    );
    received
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn linux_only() -> Vec<Received> {
    Vec::new()
}
