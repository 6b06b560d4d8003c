//! Tokens: where a request carries one ([`TokenSource`], [`AuthToken`]), how it is checked
//! ([`Validation`]), and why it is refused ([`TokenError`]).
//!
//! ```
//! use tokenleader_rbac::{AclMap, Enforcer, PublicKey};
//! use tokenleader_rbac::token::{TokenError, TokenSource, Validation};
//!
//! let mut validation = Validation::default();
//! validation.max_token_bytes = 4096;
//! let key = PublicKey::from_pem(include_bytes!("../../tests/fixtures/tokenleader/tokenleader_public_key.spki.pem"))?;
//! let enforcer = Enforcer::builder()
//!     .public_key(key)
//!     .acl(AclMap::empty())
//!     .validation(validation)
//!     .token_sources([TokenSource::XAuthToken])
//!     .build()?;
//! let refused = enforcer.verify("not.a.token").unwrap_err();
//! assert!(matches!(refused.token_error(), Some(TokenError::Malformed(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Verification does not use `jsonwebtoken::decode` (its claim validation cannot read
//! tokenleader's object `sub`). One pipeline serves every token: the size and structure, the
//! header (`alg` in the allow list, no `crit`, a `kid` that names a key), the payload's JSON,
//! the signature (through [`crypto_provider`](crate::keys::crypto_provider)), the registered
//! claims (`exp` required, `nbf`/`iat` with a leeway, a maximum lifetime, `iss`, `aud`), and
//! last the claim shape (tokenleader's, or a [`ClaimMapping`](crate::claims::ClaimMapping))
//! into [`Identity`](crate::Identity) and [`Wfc`](crate::Wfc). A verified token is cached
//! whole; every cache hit checks its times again.

mod cache;
mod error;
mod jws;
mod requirements;
mod source;
mod validation;
mod verified;
mod verifier;

pub(crate) use cache::KeySet;
#[cfg(feature = "introspection")]
pub(crate) use cache::TailHash;
pub use error::TokenError;
pub use requirements::ClaimRequirement;
pub(crate) use requirements::IpBinding;
pub use source::{AuthToken, TokenExtractor, TokenSource};
pub(crate) use source::{DEFAULT_TOKEN_SOURCES, find_token, token_text};
pub use validation::Validation;
pub(crate) use verified::Verified;
#[cfg(feature = "introspection")]
pub(crate) use verified::VerifiedToken;
pub(crate) use verifier::Verifier;

/// A request's wait before its token can be decided: for the keys its unknown `kid` asked
/// for (feature `jwks`, at most 2 s), for its issuer's introspection answer (feature
/// `introspection`, at most the call's timeout), or for the fleet's word on a DPoP proof
/// (feature `redis`, at most 1 s). The request is then decided again.
pub(crate) struct VerifyWait(pub(crate) std::pin::Pin<Box<dyn Future<Output = ()> + Send>>);
