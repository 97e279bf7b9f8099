//! What the core benchmarks measure, shared by the timed one (`core`) and the counted one
//! (`allocations`) so that both measure the same thing: one operation planned, its request
//! rendered, and a successful answer interpreted. Rendered in full (`Request::render`), or
//! through a warm `RenderCache` (what the SDK store does before sending: the expressions of the
//! request's shape borrowed, its values filled in).

use std::hint::black_box;
use std::time::Duration;

use lease_core::{
    AttributeValue, Item, Lease, LeaseConfig, LeaseKey, LeaseToken, Planner, RenderCache, Request,
    StoreError, StoreResponse,
};
use std::time::SystemTime;

/// A realistic key (FaceTheory's ISR cache key shape) and a UUIDv4-sized token.
const PARTITION: &str = "CACHE#default::/news/{slug}?slug=launch";
const TOKEN: &str = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b";
const DURATION: Duration = Duration::from_secs(30);

/// A planner on the default configuration, a fixed time, and the answers a store gives.
pub(crate) struct Fixture {
    planner: Planner,
    now: SystemTime,
    key: LeaseKey,
    lease: Lease,
    /// What an acquire's `ReturnValues UPDATED_NEW` returns: the attributes it set.
    updated: Item,
    /// The request shapes, for [`Render::Cached`].
    cache: RenderCache,
}

/// How a request is rendered.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Render {
    /// `Request::render`.
    Full,
    /// `RenderCache::render`, the cache warm.
    Cached,
}

impl Fixture {
    /// The fixture, with each operation checked to take its successful path.
    pub(crate) fn new() -> Self {
        let Ok(config) = LeaseConfig::builder("locks").build() else {
            panic!("the default configuration is valid");
        };
        let planner = Planner::new(config);
        let now = std::time::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let key = LeaseKey::new(PARTITION, "LOCK");
        let lease = Lease::new(
            key.clone(),
            LeaseToken::new(TOKEN),
            lease_core::FencingToken::new(1),
            now + DURATION,
        );
        let updated = Item::from([
            ("lease_token".into(), AttributeValue::string(TOKEN)),
            (
                "lease_expires_at".into(),
                AttributeValue::number(1_700_000_031),
            ),
            (
                "lease_fence".into(),
                AttributeValue::number(1_700_000_000_124),
            ),
            ("ttl".into(), AttributeValue::number(1_700_003_631)),
        ]);
        let fixture = Self {
            planner,
            now,
            key,
            lease,
            updated,
            cache: RenderCache::new(),
        };
        for render in [Render::Full, Render::Cached] {
            assert!(fixture.acquire(render), "acquire");
            assert!(fixture.refresh(render), "refresh");
            assert!(fixture.release(render), "release");
        }
        fixture
    }

    fn render(&self, request: &Request, render: Render) {
        match render {
            Render::Full => drop(black_box(request.render())),
            Render::Cached => drop(black_box(self.cache.render(request))),
        }
    }

    /// Plans an acquire (of a fresh copy of the key, with a fresh token, as a manager does),
    /// renders it, and interprets the updated attributes; whether it succeeded.
    pub(crate) fn acquire(&self, render: Render) -> bool {
        let key = LeaseKey::clone(black_box(&self.key));
        let token = LeaseToken::new(black_box(TOKEN));
        let Ok(plan) = self
            .planner
            .acquire(key, DURATION, black_box(self.now), token)
        else {
            panic!("valid input");
        };
        self.render(plan.request(), render);
        let answer = Ok(StoreResponse::Applied {
            attributes: Some(black_box(&self.updated).clone()),
        });
        plan.interpret(answer).is_ok()
    }

    /// Plans a refresh, renders it, and interprets an `Applied` answer.
    pub(crate) fn refresh(&self, render: Render) -> bool {
        let Ok(plan) = self
            .planner
            .refresh(black_box(&self.lease), DURATION, black_box(self.now))
        else {
            panic!("valid input");
        };
        self.render(plan.request(), render);
        plan.interpret(applied()).is_ok()
    }

    /// Plans a release, renders it, and interprets an `Applied` answer.
    pub(crate) fn release(&self, render: Render) -> bool {
        let Ok(plan) = self
            .planner
            .release(black_box(&self.lease), black_box(self.now))
        else {
            panic!("valid input");
        };
        self.render(plan.request(), render);
        plan.interpret(applied()).is_ok()
    }
}

/// The answer to a refresh or release.
fn applied() -> Result<StoreResponse, StoreError> {
    Ok(StoreResponse::Applied { attributes: None })
}
