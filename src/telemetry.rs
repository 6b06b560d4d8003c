//! Metrics (feature `metrics`), through the [`metrics`](https://docs.rs/metrics) facade: install
//! any recorder (Prometheus, StatsD, …) in the application and these appear.
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | `tokenleader_rbac_decisions_total` | counter | `outcome` (`allowed`, `forbidden`, `unauthenticated`, `unavailable`, `error`), `reason` |
//! | `tokenleader_rbac_token_cache_total` | counter | `result` (`hit`, `miss`) |
//! | `tokenleader_rbac_verification_seconds` | histogram | (none): full verifications, cache misses |
//! | `tokenleader_rbac_reloads_total` | counter | `what` (`acl`, `keys`), `result` (`applied`, `refused`) |
//! | `tokenleader_rbac_revocations_total` | counter | `kind` (`token`, `user`) |
//!
//! No label ever holds a token, a user name or a rule: their number is bounded.
//! Without the feature nothing is recorded and the calls compile away. The names are the
//! constants below, for dashboards and tests.

/// Decisions, by `outcome` and `reason` (counter).
pub const DECISIONS: &str = "tokenleader_rbac_decisions_total";
/// Verified-token cache lookups, by `result` (counter).
pub const TOKEN_CACHE: &str = "tokenleader_rbac_token_cache_total";
/// The time of full verifications, cache misses (histogram, seconds).
pub const VERIFICATION_SECONDS: &str = "tokenleader_rbac_verification_seconds";
/// Reloads, by `what` and `result` (counter).
pub const RELOADS: &str = "tokenleader_rbac_reloads_total";
/// Revocations made, by `kind` (counter).
pub const REVOCATIONS: &str = "tokenleader_rbac_revocations_total";

#[cfg(feature = "metrics")]
pub(crate) fn decision(outcome: &'static str, reason: &'static str) {
    metrics::counter!("tokenleader_rbac_decisions_total", "outcome" => outcome, "reason" => reason)
        .increment(1);
}

// Literal labels make the macro's key a static; labels from variables make a `Vec` per call.
// Hence literals on the allow path.
#[cfg(feature = "metrics")]
pub(crate) fn token_cache(hit: bool) {
    match hit {
        true => metrics::counter!("tokenleader_rbac_token_cache_total", "result" => "hit"),
        false => metrics::counter!("tokenleader_rbac_token_cache_total", "result" => "miss"),
    }
    .increment(1);
}

/// Counts a decision whose labels are literals, without allocating (see `token_cache`).
macro_rules! count_decision {
    ($outcome:literal, $reason:literal) => {
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "tokenleader_rbac_decisions_total",
            "outcome" => $outcome,
            "reason" => $reason
        )
        .increment(1);
    };
}
pub(crate) use count_decision;

/// Times one full verification; without the feature it reads no clock at all.
pub(crate) struct VerificationTimer {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl VerificationTimer {
    pub(crate) fn start() -> Self {
        VerificationTimer {
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }

    #[cfg(feature = "metrics")]
    pub(crate) fn stop(self) {
        metrics::histogram!("tokenleader_rbac_verification_seconds")
            .record(self.started.elapsed().as_secs_f64());
    }

    #[cfg(not(feature = "metrics"))]
    pub(crate) fn stop(self) {}
}

#[cfg(feature = "metrics")]
pub(crate) fn reload(what: &'static str, applied: bool) {
    let result = if applied { "applied" } else { "refused" };
    metrics::counter!("tokenleader_rbac_reloads_total", "what" => what, "result" => result)
        .increment(1);
}

#[cfg(feature = "metrics")]
pub(crate) fn revocation(kind: &'static str) {
    metrics::counter!("tokenleader_rbac_revocations_total", "kind" => kind).increment(1);
}

#[cfg(not(feature = "metrics"))]
pub(crate) fn decision(_outcome: &'static str, _reason: &'static str) {}

#[cfg(not(feature = "metrics"))]
pub(crate) fn token_cache(_hit: bool) {}

#[cfg(not(feature = "metrics"))]
pub(crate) fn reload(_what: &'static str, _applied: bool) {}

#[cfg(not(feature = "metrics"))]
pub(crate) fn revocation(_kind: &'static str) {}
