//! The ACL source: the ACL file (reloaded) or a map given in code.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use super::source::{LastError, Reporter, Source, kept_changing, lock, read_settled};
use super::status::{AclStatus, ReloadError, Reloadable};
use crate::acl::{AclError, AclMap, AclOrigin, AclProblem, read_acl_file};

/// An ACL map: from a file (reloaded) or given in code.
pub(crate) struct AclSource {
    /// What the map is called in logs (`ACL map`, `shadow ACL map`).
    label: &'static str,
    path: Option<PathBuf>,
    /// Whether refusals are told to the `on_reload` callback (not for the shadow map).
    tell: bool,
    reloading: Mutex<()>,
    state: Mutex<AclState>,
}

struct AclState {
    bytes: Option<Vec<u8>>,
    status: AclStatus,
}

impl LastError for AclState {
    fn last_error(&mut self) -> &mut Option<Arc<ReloadError>> {
        &mut self.status.last_error
    }
}

fn acl_status(map: &AclMap, path: Option<PathBuf>, generation: u64) -> AclStatus {
    AclStatus {
        generation,
        loaded_at: SystemTime::now(),
        path,
        roles: map.role_count(),
        grants: map.grant_count(),
        revision: map.revision().to_owned(),
        last_error: None,
    }
}

impl AclSource {
    /// Loads the ACL file strictly: a failure fails `build()`.
    pub(crate) fn load_file(
        label: &'static str,
        path: PathBuf,
        tell: bool,
    ) -> Result<(Self, AclMap), ReloadError> {
        let bytes = read_acl_file(&path)?;
        let map = AclMap::from_file_bytes(&path, &bytes)?;
        let state = AclState {
            bytes: Some(bytes),
            status: acl_status(&map, Some(path.clone()), 1),
        };
        let source = AclSource {
            label,
            path: Some(path),
            tell,
            reloading: Mutex::new(()),
            state: Mutex::new(state),
        };
        Ok((source, map))
    }

    /// A map given in code: nothing to reload.
    pub(crate) fn given(label: &'static str, map: &AclMap) -> Self {
        AclSource {
            label,
            path: None,
            tell: true,
            reloading: Mutex::new(()),
            state: Mutex::new(AclState {
                bytes: None,
                status: acl_status(map, None, 1),
            }),
        }
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub(crate) fn status(&self) -> AclStatus {
        lock(&self.state).status.clone()
    }

    /// Swaps in a map given by the application.
    pub(crate) fn set(&self, target: &ArcSwap<AclMap>, map: AclMap) {
        let mut state = lock(&self.state);
        let generation = state.status.generation + 1;
        state.status = acl_status(&map, None, generation);
        target.store(Arc::new(map));
    }

    /// Re-reads the file; a changed file that validates is swapped into `target`.
    pub(crate) fn reload(
        &self,
        target: &ArcSwap<AclMap>,
        reporter: &Reporter,
    ) -> Result<(), Arc<ReloadError>> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let _reloading = lock(&self.reloading);
        let read = read_settled(
            || read_acl_file(path),
            || {
                let problem = AclProblem::Read(kept_changing());
                AclError::new(AclOrigin::File(path.clone()), None, problem)
            },
        );
        let mut state = lock(&self.state);
        let loaded = read.and_then(|bytes| {
            if state.bytes.as_deref() == Some(&bytes) {
                return Ok(None);
            }
            let map = AclMap::from_file_bytes(path, &bytes)?;
            Ok(Some((map, bytes)))
        });
        let source = Source {
            label: self.label,
            what: Reloadable::Acl,
            paths: &[path.as_path()],
            tell: self.tell,
        };
        match loaded {
            Ok(None) => reporter.unchanged(state, &source),
            Ok(Some((map, bytes))) => {
                let generation = state.status.generation + 1;
                state.status = acl_status(&map, Some(path.clone()), generation);
                state.bytes = Some(bytes);
                target.store(Arc::new(map));
                tracing::info!(
                    path = %path.display(), generation, roles = state.status.roles,
                    grants = state.status.grants, "{} reloaded", self.label
                );
                drop(state);
                reporter.applied(Reloadable::Acl, generation);
                Ok(())
            }
            Err(error) => Err(reporter.refused(state, &source, error.into())),
        }
    }
}
