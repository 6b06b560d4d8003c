//! One revocation as Redis holds it: a key with a time to live, and the message announced on
//! the channel.

use super::super::{Entries, TokenHash};

pub(super) const CHANNEL: &str = "tokenleader-rbac:revocations";
pub(super) const TOKEN_PREFIX: &str = "tokenleader-rbac:revoked:token:";
pub(super) const USER_PREFIX: &str = "tokenleader-rbac:revoked:user:";

/// One revocation, as written to Redis and announced on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Change {
    Token(TokenHash, u64),
    User {
        name: String,
        before: u64,
        expires_at: u64,
    },
}

/// A revocation made here, with how long its Redis key lives (by the enforcer's clock).
#[derive(Debug)]
pub(super) struct Write {
    pub(super) change: Change,
    pub(super) ttl_secs: u64,
}

impl Change {
    /// `token <hex> <exp>` or `user <before> <exp> <name>` (the name last: it may hold spaces).
    pub(super) fn to_message(&self) -> String {
        match self {
            Change::Token(hash, exp) => format!("token {} {exp}", hash.to_hex()),
            Change::User {
                name,
                before,
                expires_at,
            } => format!("user {before} {expires_at} {name}"),
        }
    }

    pub(super) fn from_message(message: &str) -> Option<Change> {
        let mut parts = message.splitn(4, ' ');
        match parts.next()? {
            "token" => {
                let hash = TokenHash::from_hex(parts.next()?)?;
                Some(Change::Token(hash, parts.next()?.parse().ok()?))
            }
            "user" => Some(Change::User {
                before: parts.next()?.parse().ok()?,
                expires_at: parts.next()?.parse().ok()?,
                name: parts.next()?.to_owned(),
            }),
            _ => None,
        }
    }

    pub(super) fn expires_at(&self) -> u64 {
        match self {
            Change::Token(_, exp) => *exp,
            Change::User { expires_at, .. } => *expires_at,
        }
    }

    pub(super) fn apply(&self, entries: &mut Entries) {
        match self {
            Change::Token(hash, exp) => entries.add_token(*hash, *exp),
            Change::User {
                name,
                before,
                expires_at,
            } => entries.add_user(name, *before, *expires_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_back() {
        let changes = [
            Change::Token(TokenHash::of("a.b.c"), 1_800_000_000),
            Change::User {
                name: "user with spaces".into(),
                before: 1_700_000_000,
                expires_at: 1_800_000_000,
            },
        ];
        for change in changes {
            assert_eq!(Change::from_message(&change.to_message()), Some(change));
        }
    }

    #[test]
    fn malformed_messages_are_ignored() {
        for message in ["", "token", "token zz 1", "user x 1 name", "other 1 2 3"] {
            assert_eq!(Change::from_message(message), None, "{message}");
        }
    }
}
