//! The layers that guard a route: [`RequireRule`], [`RequireAnyRule`] and [`Authenticate`]
//! (the enforcer from the request extensions), and [`RequireRuleLayer`] (bound to one
//! enforcer, made by [`Enforcer::require`] and its kin).

use std::borrow::Cow;

use tower_layer::Layer;

use super::guard::Requirement;
use super::service::RequireRuleService;
use crate::enforcer::Enforcer;

/// Requires a rule on a route; the [`Enforcer`] comes from the request extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequireRule(pub &'static str);

impl<S> Layer<S> for RequireRule {
    type Service = RequireRuleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        crate::rules::record(self.0);
        RequireRuleService::new(inner, Requirement::rule(self.0), None)
    }
}

/// Optional authentication, for routes that serve anonymous callers and signed-in users
/// differently: a request without a token goes through with no [`Identity`](crate::Identity)
/// (take `Option<Identity>`), a token that is there must be valid (a bad one is a 401, never
/// an anonymous caller), and no rule is decided. The [`Enforcer`] comes from the request
/// extensions; [`Enforcer::authenticate`] gives the same layer bound to one enforcer.
///
/// ```
/// use axum::{Router, routing::get};
/// use tokenleader_rbac::{Identity, layer::Authenticate};
///
/// async fn home(who: Option<Identity>) -> String {
///     match who {
///         Some(who) => format!("hello {}", who.username),
///         None => "hello stranger".to_owned(),
///     }
/// }
///
/// let routes: Router = Router::new().route("/", get(home).route_layer(Authenticate));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticate;

impl<S> Layer<S> for Authenticate {
    type Service = RequireRuleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRuleService::new(inner, Requirement::Token, None)
    }
}

/// Requires any one of several rules on a route (a route that readers and auditors may both
/// use); the [`Enforcer`] comes from the request extensions. The decision's log names the
/// rule that allowed the request, or all of them joined with ` | `.
///
/// ```
/// use axum::{Router, routing::get};
/// use tokenleader_rbac::layer::RequireAnyRule;
///
/// let routes: Router = Router::new().route(
///     "/entries",
///     get(|| async { "entries" }).route_layer(RequireAnyRule(&["micros1.entries.list", "micros1.audit"])),
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequireAnyRule(pub &'static [&'static str]);

impl<S> Layer<S> for RequireAnyRule {
    type Service = RequireRuleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.iter().for_each(|rule| crate::rules::record(rule));
        RequireRuleService::new(inner, Requirement::any_of(self.0), None)
    }
}

/// Requires a rule (or, from [`Enforcer::authenticate`], a valid token when there is one)
/// with a given [`Enforcer`]; made by [`Enforcer::require`].
#[derive(Debug, Clone)]
pub struct RequireRuleLayer {
    requirement: Requirement,
    enforcer: Enforcer,
}

impl Enforcer {
    /// A layer that requires `rule` and uses this enforcer, without needing the enforcer in the
    /// request extensions (for plain tower stacks). Equivalent to [`RequireRule`] under
    /// `.layer(enforcer)`, and cheaper under axum: a router whose guarded routes all use bound
    /// layers needs no `.layer(enforcer)`, so no enforcer is put into each request and axum
    /// boxes one layer less per route.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use tokenleader_rbac::test_util::TestIssuer;
    ///
    /// let enforcer = TestIssuer::new().enforcer("- name: role1\n  allow: [micros1.entries.list]\n");
    /// let app: Router = Router::new().route(
    ///     "/entries",
    ///     get(|| async { "entries" }).route_layer(enforcer.require("micros1.entries.list")),
    /// );
    /// # let _ = app;
    /// ```
    pub fn require(&self, rule: impl Into<Cow<'static, str>>) -> RequireRuleLayer {
        RequireRuleLayer {
            requirement: Requirement::rule(rule),
            enforcer: self.clone(),
        }
    }

    /// A layer that requires any one of `rules` (see [`RequireAnyRule`]) and uses this
    /// enforcer.
    pub fn require_any(&self, rules: &'static [&'static str]) -> RequireRuleLayer {
        RequireRuleLayer {
            requirement: Requirement::any_of(rules),
            enforcer: self.clone(),
        }
    }

    /// A layer of optional authentication (see [`Authenticate`]) that uses this enforcer.
    pub fn authenticate(&self) -> RequireRuleLayer {
        RequireRuleLayer {
            requirement: Requirement::Token,
            enforcer: self.clone(),
        }
    }
}

impl<S> Layer<S> for RequireRuleLayer {
    type Service = RequireRuleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.requirement.with_rules(|rules| {
            for rule in rules.map_or(&[][..], |rules| rules.list) {
                crate::rules::record(rule);
            }
        });
        RequireRuleService::new(inner, self.requirement.clone(), Some(self.enforcer.clone()))
    }
}
