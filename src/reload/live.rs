//! The live state the request path reads: the ACL snapshot, the shadow ACL snapshot and the
//! key set, each swapped whole by its source and read with one atomic load, no lock.

use arc_swap::ArcSwap;

use crate::acl::AclMap;
use crate::token::KeySet;

/// What requests are decided with now.
pub(crate) struct LiveState {
    pub(crate) acl: ArcSwap<AclMap>,
    pub(crate) shadow_acl: Option<ArcSwap<AclMap>>,
    pub(crate) keys: ArcSwap<KeySet>,
}
