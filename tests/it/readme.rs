//! The README's first example, verbatim: it must compile as written (the test below checks
//! that it is still the README's).
#![allow(dead_code)]

use axum::{routing::get, Router};
use tokenleader_rbac::{Enforcer, Identity, PublicKey, RequireRule, Wfc};

async fn list_entries(wfc: Wfc, who: Identity) -> String {
    format!("{} sees {}/{}/{}", who.username, wfc.org, wfc.orgunit, wfc.department)
}

fn app() -> Result<Router, Box<dyn std::error::Error>> {
    let key = PublicKey::from_file("tl_public_key.pub")?; // an ssh-rsa line, PEM or JWK
    let enforcer = Enforcer::builder()
        .public_key(key)                          // also PublicKey::from_pem, from_jwk, from_jwks
        .acl_file("role_to_acl_map.yml")          // read and validated here
        .build()?;
    Ok(Router::new()
        .route("/entries", get(list_entries).route_layer(RequireRule("micros1.entries.list")))
        .layer(enforcer))
}

#[test]
fn this_is_the_readmes_first_example() {
    let readme = include_str!("../../README.md");
    let start = readme.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let block = &readme[start..];
    let block = &block[..block.find("```").expect("the block ends")];
    assert!(include_str!("readme.rs").contains(block), "README.md's first example changed: copy it here");
}
