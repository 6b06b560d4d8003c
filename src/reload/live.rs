//! The live state the request path reads: the ACL snapshot and the shadow ACL snapshot, each
//! swapped whole by its source and read with one atomic load, no lock. (Each issuer's keys
//! live with its key source.)

use arc_swap::ArcSwap;

use crate::acl::AclMap;

/// What requests are decided with now.
pub(crate) struct LiveState {
    pub(crate) acl: ArcSwap<AclMap>,
    pub(crate) shadow_acl: Option<ArcSwap<AclMap>>,
}
