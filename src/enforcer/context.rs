//! [`RequestContext`]: what a handler may want to know of the decision besides the caller,
//! as the Python enforcer's context object carried it: a request id (also in the decision's
//! log event), the time of the decision, and the client's address. Also the clock it is read
//! from.

use std::cell::Cell;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::response::Denial;

/// The request's id: the caller's `X-Request-Id` when it sent a usable one (1 to 128 visible
/// ASCII characters), else one made here, unique within the process.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestId(Id);

#[derive(Clone, PartialEq, Eq)]
enum Id {
    Given(HeaderValue),
    Made(u64),
}

/// Ids made here: a per-process random start, then one more per request. Each thread takes
/// a block of ids at a time, so that requests on different cores do not contend for one
/// counter.
fn next_made() -> u64 {
    const BLOCK: u64 = 1024;
    static NEXT_BLOCK: AtomicU64 = AtomicU64::new(0);
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    thread_local! {
        /// The next id of this thread's block. Blocks start at multiples of `BLOCK`, so
        /// reaching one means the block is used up (and 0, the start, that there is none).
        static NEXT_IN_BLOCK: Cell<u64> = const { Cell::new(0) };
    }
    let start = *START.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(std::process::id().into());
        hasher.finish()
    });
    let new_block = || NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
    let offset = NEXT_IN_BLOCK
        .try_with(|next_in_block| {
            let next = match next_in_block.get() {
                next if next % BLOCK == 0 => new_block(),
                next => next,
            };
            next_in_block.set(next + 1);
            next
        })
        // A thread that is ending: a block of its own for this one id.
        .unwrap_or_else(|_| new_block());
    start.wrapping_add(offset)
}

impl RequestId {
    /// The id of a request with `headers`.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        // A static name: looking up a `&str` would parse and check it on every request.
        static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
        let given = headers.get(&X_REQUEST_ID).filter(|value| {
            let bytes = value.as_bytes();
            (1..=128).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic())
        });
        RequestId(match given {
            Some(value) => Id::Given(value.clone()),
            None => Id::Made(next_made()),
        })
    }

    /// Whether the caller sent it.
    pub fn is_from_caller(&self) -> bool {
        matches!(self.0, Id::Given(_))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            // Checked to be visible ASCII when taken.
            Id::Given(value) => f.write_str(value.to_str().unwrap_or_default()),
            Id::Made(id) => write!(f, "tlr-{id:016x}"),
        }
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

/// The enforcer's default clock: on Linux the wall clock as of the kernel's last tick
/// (`CLOCK_REALTIME_COARSE`), read in about 5 ns where `SystemTime::now` takes about 35 (a
/// tenth of what an allowed, cached request costs), and behind it by at most a tick, a few
/// milliseconds. Token times are whole seconds (and checked with a leeway), so the lag moves
/// the moment a token expires by a few milliseconds out of a second; a service that wants the
/// precise clock gives `.clock(SystemTime::now)`. Elsewhere, `SystemTime::now`. Read through
/// libc, which falls back to the system call where the kernel's vDSO is not mapped (under
/// valgrind: CI runs this module's test there).
pub(crate) fn wall_clock() -> SystemTime {
    #[cfg(target_os = "linux")]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        if let (Ok(secs), Ok(nanos)) = (u64::try_from(now.tv_sec), u32::try_from(now.tv_nsec))
            && let Some(time) = SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
        {
            return time;
        }
    }
    SystemTime::now()
}

/// Seconds since the Unix epoch; a clock before it can check nothing.
pub(super) fn unix_secs(time: SystemTime) -> Result<u64, Denial> {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Denial::ClockBeforeEpoch)
}

/// What the enforcer knew of one request; in the request extensions after
/// `RequireRule` let it through, and an axum extractor.
///
/// ```
/// use tokenleader_rbac::enforcer::RequestContext;
///
/// async fn audit(context: RequestContext) -> String {
///     format!("request {} from {:?}", context.request_id, context.client_addr)
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestContext {
    /// The request's id, also logged with the decision.
    pub request_id: RequestId,
    /// When the decision was made, by the enforcer's clock.
    pub decided_at: SystemTime,
    /// The client's address: the connection's peer (axum's `ConnectInfo<SocketAddr>`, or a
    /// `SocketAddr` in the request extensions), or, when that peer is one of the builder's
    /// [`trusted_proxies`](crate::EnforcerBuilder::trusted_proxies), the nearest untrusted
    /// address of `X-Forwarded-For`. `None` when the server does not record the peer.
    pub client_addr: Option<IpAddr>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usable_caller_id_is_kept_and_others_are_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("abc-123"));
        let given = RequestId::of(&headers);
        assert!(given.is_from_caller());
        assert_eq!(given.to_string(), "abc-123");
        headers.insert("x-request-id", HeaderValue::from_static("has space"));
        assert!(!RequestId::of(&headers).is_from_caller());
        let (a, b) = (
            RequestId::of(&HeaderMap::new()),
            RequestId::of(&HeaderMap::new()),
        );
        assert_ne!(a, b);
        assert!(a.to_string().starts_with("tlr-"));
    }

    #[test]
    fn the_default_clock_is_the_wall_clock_within_a_tick() {
        for _ in 0..1_000 {
            let before = SystemTime::now();
            let coarse = wall_clock();
            let after = SystemTime::now();
            // Never ahead of the precise clock read after it, and behind the one read before it
            // by at most a tick (1 to 10 ms by the kernel's configuration).
            assert!(coarse <= after);
            let behind = before.duration_since(coarse).unwrap_or_default();
            assert!(behind < Duration::from_millis(50), "{behind:?} behind");
        }
    }

    #[test]
    fn ids_made_on_several_threads_are_all_distinct() {
        // More than a block per thread, so that every thread takes several blocks.
        let per_thread = 3000;
        let ids: Vec<u64> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| (0..per_thread).map(|_| next_made()).collect::<Vec<_>>()))
                .collect();
            threads
                .into_iter()
                .flat_map(|thread| thread.join().unwrap())
                .collect()
        });
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), 4 * per_thread);
    }
}
