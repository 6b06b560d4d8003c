//! The enforcer's ACL maps and keys: the ones in force, replaced or reloaded on demand, and
//! the reports on them (shadow differences, dry-run denials, rules no role grants).

use std::sync::Arc;

use super::Enforcer;
use crate::acl::AclMap;
use crate::reload::{AclStatus, KeyStatus, ReloadError};
use crate::rollout::{DryRunDenial, ShadowDifference};

impl Enforcer {
    /// The rules the service uses ([`rules::used_rules`](crate::rules::used_rules)) against
    /// the map in force: rules no role grants (their routes are the admin's only) and grants
    /// that no rule the service uses matches.
    pub fn rules_report(&self) -> crate::rules::RulesReport {
        let acl = self.acl();
        let used = crate::rules::used_rules();
        let ungranted = used
            .iter()
            .filter(|used| !acl.roles().any(|role| acl.grants(role, &used.rule)))
            .map(|used| used.rule.clone())
            .collect();
        let mut roles: Vec<&str> = acl.roles().collect();
        roles.sort_unstable();
        let mut unused_grants = Vec::new();
        for role in roles {
            for entry in acl.rules_of(role).into_iter().flatten() {
                if !used
                    .iter()
                    .any(|used| crate::acl::entry_matches(entry, &used.rule))
                {
                    unused_grants.push((role.to_owned(), entry.to_owned()));
                }
            }
        }
        crate::rules::RulesReport {
            ungranted,
            unused_grants,
        }
    }

    /// The ACL map in force now.
    pub fn acl(&self) -> Arc<AclMap> {
        self.inner.live.acl.load_full()
    }

    /// Replaces the ACL map whole. Requests in flight finish with the map they started with;
    /// no request ever sees a mix of the two. A later change of the ACL file, if one is
    /// watched, replaces it again.
    pub fn set_acl(&self, map: AclMap) {
        self.inner.reloader.set_acl(map);
    }

    /// Re-reads the ACL file, the shadow ACL file and the key files now, and swaps in those
    /// that changed and validate; a refused file leaves its previous version in force. Returns
    /// the first refusal. It blocks for a few tens of milliseconds (the file must read the
    /// same twice): from async code, call it through `spawn_blocking`.
    pub fn reload(&self) -> Result<(), Arc<ReloadError>> {
        self.inner.reloader.reload()
    }

    /// Where the shadow (candidate) map decided differently from the enforced one, per rule
    /// and outcome, since start. Empty without `.shadow_acl_file(..)`.
    pub fn shadow_report(&self) -> Vec<ShadowDifference> {
        self.inner.recorder.shadow.report()
    }

    /// The shadow map in force and how its last reload went; `None` without one.
    pub fn shadow_status(&self) -> Option<AclStatus> {
        self.inner.reloader.shadow_status()
    }

    /// The requests that dry-run mode (`.enforce(false)`) let through although no role grants
    /// their rule, per rule, since start.
    pub fn dry_run_report(&self) -> Vec<DryRunDenial> {
        self.inner.recorder.dry_run.report()
    }

    /// The ACL map in force and how its last reload went.
    pub fn acl_status(&self) -> AclStatus {
        self.inner.reloader.acl_status()
    }

    /// The keys of the builder's own issuer (with only trusted issuers, of the first one)
    /// and how their last reload or fetch went.
    pub fn key_status(&self) -> KeyStatus {
        self.inner.issuers.own_key_status()
    }

    /// The keys of the issuer whose tokens name `iss` (`None`: tokens without `iss`) and how
    /// their last reload or fetch went (stale ones from the key cache file say so); `None`
    /// when no issuer takes such tokens.
    pub fn issuer_key_status(&self, iss: Option<&str>) -> Option<KeyStatus> {
        self.inner.issuers.key_status(iss)
    }
}
