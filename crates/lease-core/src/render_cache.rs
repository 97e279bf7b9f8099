//! [`RenderCache`]: the expressions of the request shapes a store sends, rendered once.

use std::sync::OnceLock;

use crate::request::Request;
use crate::template::{Expressions, Template};

/// How many request shapes a [`RenderCache`] keeps. A lease manager sends a handful (acquire,
/// with and without a value, refresh, release, the reads have none); shapes beyond these are
/// rendered every time.
const SHAPES: usize = 16;

/// Renders requests as [`Request::render`] does, byte for byte, rendering each request *shape*
/// once: the expression text and the name map of a request depend only on its kind, its tree
/// and its attribute names, which are the same for every acquire (or release, …) a planner
/// makes; only the values change. For a store that sends expression text (the DynamoDB store):
/// it renders a request once per shape and fills in only the values after that.
///
/// A request of a new shape is rendered in full, and its shape kept (up to a fixed number of
/// shapes; later ones are always rendered in full). A kept shape is used only for a request
/// that has exactly that shape, so the answer never depends on what was cached. No value of a
/// request is kept (no token).
///
/// Safe to share between threads; lookups take no lock.
///
/// ```
/// # use std::time::Duration;
/// # use lease_core::{LeaseConfig, LeaseToken, Planner, RenderCache};
/// # use lease_core::wire_time::from_epoch_seconds;
/// let planner = Planner::new(LeaseConfig::builder("locks").build()?);
/// let cache = RenderCache::new();
/// for (second, token) in [(1000, "a"), (1001, "b")] {
///     let now = from_epoch_seconds(second).ok_or("time out of range")?;
///     let plan = planner.acquire("CACHE#A", Duration::from_secs(30), now, LeaseToken::new(token))?;
///     let rendered = plan.request().render();
///     let cached = cache.render(plan.request());
///     assert_eq!(cached.condition.as_deref(), rendered.condition.as_deref());
///     assert_eq!(cached.values.len(), rendered.values.len());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct RenderCache {
    /// The shapes seen, filled in order; the first empty slot ends the list.
    templates: [OnceLock<Template>; SHAPES],
}

impl RenderCache {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// `request`'s expressions: the same text and maps as [`Request::render`], borrowed from a
    /// kept shape where `request` has one, else rendered (and the shape kept if there is room).
    #[must_use]
    pub fn render<'a>(&'a self, request: &'a Request) -> Expressions<'a> {
        if matches!(request, Request::Get(_)) {
            return Expressions::default();
        }
        let mut free = None;
        for slot in &self.templates {
            match slot.get() {
                Some(template) => {
                    if let Some(expressions) = template.fill(request) {
                        return expressions;
                    }
                }
                None => {
                    free = Some(slot);
                    break;
                }
            }
        }
        let rendered = request.render();
        if let Some(slot) = free
            && let Some(template) = Template::new(request, &rendered)
        {
            // Another thread may have filled the slot first: then this shape waits for its
            // next turn (a later request of it takes the next free slot).
            let _ = slot.set(template);
        }
        Expressions::from(rendered)
    }

    /// How many request shapes are kept.
    #[must_use]
    pub fn shapes(&self) -> usize {
        self.templates
            .iter()
            .take_while(|slot| slot.get().is_some())
            .count()
    }
}

/// Shows how many shapes are kept, not their text.
impl std::fmt::Debug for RenderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderCache")
            .field("shapes", &self.shapes())
            .finish()
    }
}
