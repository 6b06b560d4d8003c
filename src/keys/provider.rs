//! The crypto provider: jsonwebtoken's backend, chosen by this crate's features and never by
//! jsonwebtoken's process-wide default.

/// The jsonwebtoken crypto provider this crate verifies with.
///
/// The crate never relies on jsonwebtoken's process-wide default, so it works whichever of
/// jsonwebtoken's backends the rest of a program turns on: with the `aws-lc-rs` feature it is
/// aws-lc-rs, otherwise RustCrypto. Code that signs with jsonwebtoken itself in a program where
/// both backends are on can install it: `tokenleader_rbac::keys::crypto_provider().install_default()`.
pub fn crypto_provider() -> &'static jsonwebtoken::crypto::CryptoProvider {
    #[cfg(feature = "aws-lc-rs")]
    {
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    {
        &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
    }
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "tokenleader-rbac needs a crypto backend: enable the `aws-lc-rs` or `rust-crypto` feature"
);
