//! Tracing shows keys and fencing tokens, never a bearer token. (A test binary of its own: the
//! capturing subscriber is the thread's default, and tracing caches per-callsite interest
//! process-wide, so other tests running at the same time must not share the process.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::{World, secs};
use lease_memory::{GuardOptions, WaitPolicy, store::StoreErrorKind};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records every span and event field as text.
#[derive(Clone, Default)]
struct Capture {
    text: Arc<Mutex<String>>,
    ids: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = self.text.lock().unwrap();
        let _ = write!(text, "\nspan {}:", span.metadata().name());
        span.record(&mut Fields(&mut text));
        Id::from_u64(self.ids.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Fields(&mut self.text.lock().unwrap()));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = self.text.lock().unwrap();
        text.push_str("\nevent:");
        event.record(&mut Fields(&mut text));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Tracing covers acquire, renew, at risk, contention, loss and release, with the key and the
/// fencing token, and never shows a bearer token.
#[tokio::test(start_paused = true)]
async fn tracing_never_shows_the_token() {
    let capture = Capture::default();
    let _default = tracing::subscriber::set_default(capture.clone());
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("secret-token-of-a", &a_store);
    let b = w.manager("secret-token-of-b", &w.faulty());

    let guard = a
        .acquire_guard(w.key(), secs(10), GuardOptions::default())
        .await
        .unwrap();
    let fence = guard.fence();
    let _ = b
        .acquire(w.key(), secs(10), &WaitPolicy::with_timeout(secs(1)))
        .await;
    w.sleep_until(secs(4)).await;
    a_store.set_outage(Some(StoreErrorKind::Unavailable));
    guard.lost().await;
    a_store.set_outage(None);
    // Lost (unconfirmed) before the release: it says so, and releases what may be ours.
    assert!(guard.release().await.unwrap_err().is_lost());

    let text = capture.text.lock().unwrap().clone();
    assert!(!text.contains("secret-token"), "a token was logged:{text}");
    for expected in [
        "span lease_guard:",
        "span lease_wait:",
        "CACHE#A",
        &fence.to_string(),
        "lease acquired",
        "lease contended",
        "lease renewed",
        "lease at risk",
        "lease lost",
        "lease guard ended",
        "tok:",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:{text}");
    }
}
