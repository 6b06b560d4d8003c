//! The verified-token cache: a token whose signature was checked once is not checked again
//! while it lives.
//!
//! Clients send the same token many times within its hour, and an RS512 check costs tens of
//! microseconds. The cache maps the whole token to its verified [`Claims`] and the token
//! itself as an [`AuthToken`](super::AuthToken) (the key's own allocation, shared), so a hit
//! copies nothing:
//!
//! - found by a fast hash, confirmed by comparing the whole token, so no hash collision can let
//!   another token through;
//! - only successful verifications are stored;
//! - every hit still checks its times against the clock (`exp`, `nbf`, `iat`, the maximum
//!   lifetime, as the seconds in which they pass, kept with the token), so an expired token is
//!   never served from it;
//! - bounded (10,000 entries by default), sharded, no global lock on a hit;
//! - it belongs to one set of keys: when the keys are reloaded, the new set starts with an empty
//!   cache, so the tokens of a removed key stop working at once.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::RangeInclusive;
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{Equivalent, UnitWeighter};

use super::verified::Verified;
use crate::keys::PublicKey;
use crate::telemetry;

/// The keys in force, with the cache of the tokens they verified.
pub(crate) struct KeySet {
    pub(crate) keys: Vec<PublicKey>,
    pub(crate) cache: Option<TokenCache>,
}

impl KeySet {
    /// `cache_capacity` 0 means no cache.
    pub(crate) fn new(keys: Vec<PublicKey>, cache_capacity: usize) -> Self {
        let cache = (cache_capacity > 0).then(|| TokenCache::new(cache_capacity));
        KeySet { keys, cache }
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("keys", &self.keys)
            .field("cached_tokens", &self.cache.as_ref().map(TokenCache::len))
            .finish()
    }
}

/// Verified tokens and their claims.
pub(crate) struct TokenCache<S = TailHash> {
    entries: Cache<Arc<str>, Cached, UnitWeighter, S>,
}

/// A verified token, and the seconds (since the Unix epoch) in which its times pass its
/// issuer's checks ([`Validation::valid_times`](super::Validation::valid_times)).
#[derive(Clone)]
pub(crate) struct Cached {
    pub(crate) verified: Verified,
    pub(crate) valid: RangeInclusive<u64>,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self::with_hasher(capacity, TailHash::default())
    }
}

/// How many bytes at a token's end are hashed: 32 base64url characters of its signature,
/// 192 random bits for every token.
const HASHED_TAIL: usize = 32;

/// Hashes a token by its length and its last [`HASHED_TAIL`] bytes, the signature's: hashing
/// the whole token (hundreds of bytes) was most of a cache hit. Lookups still compare whole
/// tokens, and only verified tokens are stored, so a token made to share a tail finds
/// nothing and crowds no bucket.
#[derive(Clone, Default)]
pub(crate) struct TailHash(foldhash::fast::RandomState);

impl BuildHasher for TailHash {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

pub(crate) struct TailHasher(foldhash::fast::FoldHasher<'static>);

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.write_usize(bytes.len());
        self.0
            .write(&bytes[bytes.len().saturating_sub(HASHED_TAIL)..]);
    }

    fn write_u8(&mut self, byte: u8) {
        self.0.write_u8(byte);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// A token's bytes, looked up as the text key they equal.
struct RawToken<'a>(&'a [u8]);

impl Hash for RawToken<'_> {
    /// As `str` hashes (its bytes, then `0xff`), so that the bytes find their text's entry.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0);
        state.write_u8(0xff);
    }
}

impl Equivalent<Arc<str>> for RawToken<'_> {
    fn equivalent(&self, key: &Arc<str>) -> bool {
        self.0 == key.as_bytes()
    }
}

impl<S: BuildHasher + Clone> TokenCache<S> {
    pub(crate) fn with_hasher(capacity: usize, hasher: S) -> Self {
        TokenCache {
            entries: Cache::with(
                capacity,
                capacity as u64,
                UnitWeighter,
                hasher,
                Default::default(),
            ),
        }
    }

    /// `token` (its bytes as the request carries them: a token found here is the text of a
    /// token verified before, so it need not be read as text first), if it was verified
    /// before: `Ok` while its times pass at `now` (seconds since the Unix epoch), else `Err`
    /// with the entry, for its verifier to name the reason and drop it. The lookup compares
    /// the whole token.
    pub(crate) fn get(&self, token: &[u8], now: u64) -> Option<Result<Verified, Cached>> {
        let cached = self.entries.get(&RawToken(token))?;
        telemetry::token_cache(true);
        Some(match cached.valid.contains(&now) {
            true => Ok(cached.verified),
            false => Err(cached),
        })
    }

    /// Stores a token that was just verified, with the seconds in which its times pass.
    pub(crate) fn insert(&self, verified: Verified, valid: RangeInclusive<u64>) {
        self.entries
            .insert(verified.token.shared(), Cached { verified, valid });
    }

    /// Forgets a token (one found expired).
    pub(crate) fn remove(&self, token: &str) {
        self.entries.remove(token);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasherDefault, Hasher};

    use super::*;
    use crate::claims::{Claims, Identity, Wfc};
    use crate::token::AuthToken;
    use crate::token::verified::VerifiedToken;

    /// Valid at every second: these tests are not about time.
    const ALWAYS: RangeInclusive<u64> = 0..=u64::MAX;

    fn verified(token: &str, username: &str) -> Verified {
        verified_with(token, claims(username))
    }

    fn verified_with(token: &str, claims: Arc<Claims>) -> Verified {
        Verified::new(VerifiedToken {
            claims,
            token: AuthToken::new(token),
            ip_binding: None,
            key_id: None,
            issuer: None,
            memo: Default::default(),
            confirmation: None,
            dpop: None,
        })
    }

    fn claims(username: &str) -> Arc<Claims> {
        Arc::new(Claims {
            identity: Identity {
                id: 1,
                username: username.into(),
                email: username.into(),
                roles: vec!["role1".to_owned()].into(),
                subject: None,
            },
            wfc: Wfc {
                id: 1,
                name: "wfc1".into(),
                org: "org1".into(),
                orgunit: "ou1".into(),
                department: "dept1".into(),
            },
            exp: 2,
            iat: Some(1),
            nbf: None,
        })
    }

    /// Every key hashes to the same value: all tokens share one bucket.
    #[derive(Default, Clone)]
    struct Colliding;

    impl Hasher for Colliding {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    fn username_of<S: BuildHasher + Clone>(cache: &TokenCache<S>, token: &str) -> Option<String> {
        cache
            .get(token.as_bytes(), 0)
            .and_then(Result::ok)
            .map(|verified| verified.claims.identity.username.to_string())
    }

    #[test]
    fn a_token_sharing_a_cached_tokens_hash_is_not_served() {
        let cache = TokenCache::with_hasher(100, BuildHasherDefault::<Colliding>::default());
        cache.insert(verified("header.payload.signature", "user1"), ALWAYS);
        assert!(cache.get(b"header.payload.forged", 0).is_none());
        assert!(cache.get(b"header.payload.signatur", 0).is_none());
        assert_eq!(
            username_of(&cache, "header.payload.signature").as_deref(),
            Some("user1")
        );
        cache.insert(verified("header.payload.other", "user2"), ALWAYS);
        assert_eq!(
            username_of(&cache, "header.payload.other").as_deref(),
            Some("user2")
        );
        assert_eq!(
            username_of(&cache, "header.payload.signature").as_deref(),
            Some("user1")
        );
    }

    #[test]
    fn a_hit_is_valid_within_its_seconds_only() {
        let cache = TokenCache::new(100);
        cache.insert(verified("header.payload.signature", "user1"), 10..=20);
        let valid_at = |now| match cache.get(b"header.payload.signature", now) {
            Some(Ok(verified)) => Some(verified.claims.identity.username.to_string()),
            Some(Err(stale)) => {
                assert_eq!(stale.valid, 10..=20, "the stale entry is handed back whole");
                None
            }
            None => panic!("the token is cached"),
        };
        for now in [10, 15, 20] {
            assert_eq!(valid_at(now).as_deref(), Some("user1"), "at {now}");
        }
        for now in [0, 9, 21, u64::MAX] {
            assert_eq!(valid_at(now), None, "at {now}");
        }
        assert!(cache.get(b"header.payload.signaturf", 15).is_none());
    }

    #[test]
    fn the_cache_never_exceeds_its_capacity() {
        let cache = TokenCache::new(10_000);
        let shared = claims("user1");
        for i in 0..100_000 {
            cache.insert(verified_with(&format!("token-{i}"), shared.clone()), ALWAYS);
            assert!(
                cache.len() <= 10_000,
                "{} entries after {i} inserts",
                cache.len()
            );
        }
        assert!(cache.len() > 5_000, "the cache still holds entries");
    }

    #[test]
    fn tokens_that_share_their_tail_are_told_apart() {
        let cache = TokenCache::new(100);
        let tail = "s".repeat(HASHED_TAIL);
        cache.insert(verified(&format!("a.b.{tail}"), "user1"), ALWAYS);
        cache.insert(verified(&format!("c.d.{tail}"), "user2"), ALWAYS);
        assert_eq!(
            username_of(&cache, &format!("a.b.{tail}")).as_deref(),
            Some("user1")
        );
        assert_eq!(
            username_of(&cache, &format!("c.d.{tail}")).as_deref(),
            Some("user2")
        );
        assert!(cache.get(format!("x.y.{tail}").as_bytes(), 0).is_none());
    }

    #[test]
    fn remove_forgets_a_token() {
        let cache = TokenCache::new(10);
        cache.insert(verified("t", "user1"), ALWAYS);
        cache.remove("t");
        assert!(cache.get(b"t", 0).is_none());
    }
}
