//! The signals `lease run` handles itself: SIGINT, SIGTERM and SIGHUP. While waiting for the
//! lease they end `lease` (the command is not started); while the command runs they are
//! forwarded to its process group.

use std::task::{Context, Poll, Waker};

use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};

use crate::exit::Failure;

/// Listeners for SIGINT, SIGTERM and SIGHUP. Once installed, these signals no longer end the
/// process by default: they are delivered here.
#[derive(Debug)]
pub(crate) struct Signals {
    listeners: [(Signal, tokio::signal::unix::Signal); 3],
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
        Ok(Self {
            listeners: [
                listen(SignalKind::interrupt(), Signal::SIGINT)?,
                listen(SignalKind::terminate(), Signal::SIGTERM)?,
                listen(SignalKind::hangup(), Signal::SIGHUP)?,
            ],
        })
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
