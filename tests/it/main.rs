//! The crate's ordinary test suites, in one binary: a module per suite. The suites that need
//! servers outside the process (Redis, the real tokenleader server) and the watcher-thread
//! count (which must be alone in its process) are test crates of their own.

#[path = "../common/mod.rs"]
mod common;

mod acl_errors;
mod acl_extensions;
mod claim_mapping;
mod cli;
mod client;
mod client_parity;
mod discovery;
mod dpop;
mod example_microservice;
mod forged_tokens;
#[cfg(feature = "tonic")]
mod grpc;
mod grpc_denials;
mod headers;
mod hostile_acl;
mod hot_reload;
mod introspection;
mod issuers;
mod jwks;
mod key_types;
mod keys;
mod layers;
mod metrics;
mod mtls;
mod mtls_tls;
mod network_edges;
mod policy;
mod presets;
mod properties;
// Verbatim from README.md: rustfmt would make it differ.
#[rustfmt::skip]
mod readme;
mod real_server_fixtures;
mod request_context;
mod resource_metadata;
mod review_defects;
mod revocation;
mod security_tokens;
mod shadow;
mod sources;
mod test_kit;
mod token_cache;
mod token_kinds;
mod trust_model;
mod wycheproof;
