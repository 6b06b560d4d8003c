//! Server nonces (RFC 9449 §8): the service asks for a proof made after it gave the client a
//! nonce, which bounds how long a proof made in advance (by a thief holding the key for a
//! while, or by malware on the client) can serve. A nonce is the number of the current
//! minute with an HMAC-SHA256 of it under the service's secret, so every instance of a fleet
//! that shares the secret takes the others' nonces, and none is stored. A nonce is good for
//! the minute it was made in and the next.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long one nonce window lasts, in seconds; a nonce is taken in its window and the next.
const WINDOW_SECS: u64 = 60;

/// How many bytes of the HMAC a nonce carries.
const TAG_BYTES: usize = 16;

/// The shortest secret taken: as long as the HMAC's output.
pub(crate) const MIN_SECRET_BYTES: usize = 32;

/// The window of a nonce that is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceAge {
    /// Made in the current window.
    Current,
    /// Made in the window before: taken, and the client is handed the current one
    /// (RFC 9449 §8.2), so that it need not meet a refusal to get it.
    Previous,
}

/// The secret nonces are made with. Its `Debug` output hides it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct NonceSecret(Arc<[u8]>);

impl fmt::Debug for NonceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceSecret(<redacted>)")
    }
}

impl NonceSecret {
    pub(crate) fn new(secret: &[u8]) -> Self {
        NonceSecret(secret.into())
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The nonce to hand out at `now`.
    pub(crate) fn nonce(&self, now: u64) -> String {
        let window = now / WINDOW_SECS;
        let tag = self.mac(window).finalize().into_bytes();
        format!("{window}.{}", URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES]))
    }

    /// How old `nonce` is at `now`, when it was made with this secret in the window of `now`
    /// or the one before; `None` when it is refused.
    pub(crate) fn age(&self, nonce: &str, now: u64) -> Option<NonceAge> {
        let (window, tag) = nonce.split_once('.')?;
        let (Ok(window), Ok(tag)) = (window.parse::<u64>(), URL_SAFE_NO_PAD.decode(tag)) else {
            return None;
        };
        let current = now / WINDOW_SECS;
        let age = match window {
            window if window == current => NonceAge::Current,
            window if window.checked_add(1) == Some(current) => NonceAge::Previous,
            _ => return None,
        };
        // Compared in constant time by the HMAC crate.
        let genuine =
            tag.len() == TAG_BYTES && self.mac(window).verify_truncated_left(&tag).is_ok();
        genuine.then_some(age)
    }

    fn mac(&self, window: u64) -> Hmac<Sha256> {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"tokenleader-rbac dpop nonce ");
        mac.update(&window.to_be_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_good_in_its_minute_and_the_next_and_only_under_its_secret() {
        let secret = NonceSecret::new(&[7; 32]);
        let nonce = secret.nonce(6_000);
        assert_eq!(secret.age(&nonce, 6_000), Some(NonceAge::Current));
        assert_eq!(secret.age(&nonce, 6_059), Some(NonceAge::Current));
        assert_eq!(secret.age(&nonce, 6_060), Some(NonceAge::Previous));
        assert_eq!(secret.age(&nonce, 6_119), Some(NonceAge::Previous));
        assert_eq!(secret.age(&nonce, 6_120), None);
        assert_eq!(secret.age(&nonce, 5_999), None);
        assert_eq!(NonceSecret::new(&[8; 32]).age(&nonce, 6_000), None);
        let (window, tag) = nonce.split_once('.').unwrap();
        let next_window = format!("{}.{tag}", window.parse::<u64>().unwrap() + 1);
        assert_eq!(secret.age(&next_window, 6_060), None);
        assert_eq!(secret.age("100", 6_000), None);
        assert_eq!(secret.age("100.!!", 6_000), None);
    }
}
