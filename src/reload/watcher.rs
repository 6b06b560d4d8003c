//! The one watcher thread: notify events on the folders of every watched file, debounced,
//! then a reload of everything; in-place writes only once the writer closed the file; a
//! periodic check besides.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};

use super::Reloader;

/// How long the folder must stay quiet before a burst of events is acted on.
const DEBOUNCE_QUIET: Duration = Duration::from_millis(50);
/// A burst longer than this is acted on anyway, so a busy folder cannot delay reloads forever.
const DEBOUNCE_MAX: Duration = Duration::from_secs(1);
/// A file still open for writing after this long (its writer hung, or never closes) no longer
/// holds back reloads; the settled double read still guards it.
const WRITE_STALE: Duration = Duration::from_secs(5);

/// The watcher could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatcherError {
    /// The operating system's file watcher could not be created.
    #[error("cannot start the file watcher: {0}")]
    Start(#[source] notify::Error),
    /// A folder could not be watched.
    #[error("cannot watch {}: {source}", folder.display())]
    Watch {
        /// The folder.
        folder: PathBuf,
        /// Why.
        source: notify::Error,
    },
    /// The thread could not be started.
    #[error("cannot start the watcher thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Keeps the watcher running; dropping it (with the last `Enforcer`) stops the thread.
pub(crate) struct WatchGuard {
    _watcher: Mutex<notify::RecommendedWatcher>,
}

impl fmt::Debug for WatchGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WatchGuard")
    }
}

/// Starts watching the folders of every file of `reloader` on one thread.
pub(crate) fn spawn_watcher(
    reloader: &Arc<Reloader>,
    poll_interval: Duration,
) -> Result<WatchGuard, WatcherError> {
    let files = reloader.watched_files();
    let (events_tx, events) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(events_tx).map_err(WatcherError::Start)?;
    let mut folders: Vec<PathBuf> = files
        .iter()
        .map(|path| match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        })
        .collect();
    folders.sort();
    folders.dedup();
    for folder in folders {
        watcher
            .watch(&folder, RecursiveMode::NonRecursive)
            .map_err(|source| WatcherError::Watch { folder, source })?;
    }
    let names = files
        .iter()
        .filter_map(|path| path.file_name().map(ToOwned::to_owned))
        .collect();
    let target = Arc::downgrade(reloader);
    std::thread::Builder::new()
        .name("tl-rbac-watch".into())
        .spawn(move || WatchLoop::new(names, poll_interval).run(&events, &target))
        .map_err(WatcherError::Thread)?;
    Ok(WatchGuard {
        _watcher: Mutex::new(watcher),
    })
}

/// What an event means for the watched files.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// Nothing (our own reads, other files' writes).
    Nothing,
    /// A watched file is being written in place: wait for its close.
    Writing(OsString),
    /// A watched file was closed after writing: its new content is complete.
    Closed(OsString),
    /// Anything else that may change what a path holds (create, rename, remove, symlink swap).
    Changed,
}

fn classify(event: &notify::Result<notify::Event>, names: &[OsString]) -> Seen {
    let event = match event {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "file watcher error; the periodic check still runs");
            return Seen::Changed;
        }
    };
    let watched = event
        .paths
        .iter()
        .filter_map(|path| path.file_name())
        .find(|name| names.iter().any(|n| n == name));
    match (event.kind, watched) {
        (EventKind::Access(AccessKind::Close(AccessMode::Write)), Some(name)) => {
            Seen::Closed(name.to_owned())
        }
        (EventKind::Modify(ModifyKind::Data(_)), Some(name)) => Seen::Writing(name.to_owned()),
        (EventKind::Access(_), _) | (EventKind::Modify(ModifyKind::Data(_)), None) => Seen::Nothing,
        _ => Seen::Changed,
    }
}

/// The watcher thread's state.
struct WatchLoop {
    names: Vec<OsString>,
    poll_interval: Duration,
    /// A change waits to be applied, since then.
    pending_since: Option<Instant>,
    last_event: Instant,
    next_poll: Instant,
    /// Watched files open for writing, since when.
    writing: HashMap<OsString, Instant>,
}

impl WatchLoop {
    fn new(names: Vec<OsString>, poll_interval: Duration) -> Self {
        let now = Instant::now();
        WatchLoop {
            names,
            poll_interval,
            pending_since: None,
            last_event: now,
            next_poll: now + poll_interval,
            writing: HashMap::new(),
        }
    }

    /// Runs until the watcher is dropped (the channel closes) or the enforcer is gone.
    fn run(
        mut self,
        events: &mpsc::Receiver<notify::Result<notify::Event>>,
        target: &Weak<Reloader>,
    ) {
        loop {
            let now = Instant::now();
            let wake = match self.pending_since {
                Some(_) => self.last_event + DEBOUNCE_QUIET,
                None => self.next_poll,
            };
            match events.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(event) => self.see(classify(&event, &self.names)),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if !self.due() {
                continue;
            }
            let Some(reloader) = target.upgrade() else {
                return;
            };
            self.pending_since = None;
            self.next_poll = Instant::now() + self.poll_interval;
            // Refusals are logged, stored in the status and told to the callback.
            let _ = reloader.reload();
        }
    }

    fn see(&mut self, seen: Seen) {
        let now = Instant::now();
        match seen {
            Seen::Nothing => return,
            Seen::Writing(name) => {
                self.writing.entry(name).or_insert(now);
            }
            Seen::Closed(name) => {
                self.writing.remove(&name);
                self.pending_since.get_or_insert(now);
            }
            Seen::Changed => {
                self.pending_since.get_or_insert(now);
            }
        }
        self.last_event = now;
    }

    /// Whether to reload now: a change waited out its burst (or the burst ran too long), or
    /// the periodic check is due; never while a watched file is open for writing.
    fn due(&mut self) -> bool {
        let now = Instant::now();
        self.writing
            .retain(|_, since| now.duration_since(*since) < WRITE_STALE);
        if !self.writing.is_empty() {
            return false;
        }
        match self.pending_since {
            Some(since) => {
                now.duration_since(self.last_event) >= DEBOUNCE_QUIET
                    || now.duration_since(since) >= DEBOUNCE_MAX
            }
            None => now >= self.next_poll,
        }
    }
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, DataChange, RenameMode};

    use super::*;

    fn event(kind: EventKind, path: &str) -> notify::Result<notify::Event> {
        Ok(notify::Event::new(kind).add_path(PathBuf::from(path)))
    }

    fn names() -> Vec<OsString> {
        vec![OsString::from("acl.yml")]
    }

    #[test]
    fn an_in_place_write_waits_for_its_close() {
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Content));
        let close = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert_eq!(
            classify(&event(write, "/etc/x/acl.yml"), &names()),
            Seen::Writing("acl.yml".into())
        );
        assert_eq!(
            classify(&event(close, "/etc/x/acl.yml"), &names()),
            Seen::Closed("acl.yml".into())
        );
        assert_eq!(
            classify(&event(write, "/etc/x/other.log"), &names()),
            Seen::Nothing
        );
    }

    #[test]
    fn renames_and_creations_count_and_our_own_reads_do_not() {
        let rename = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        let create = EventKind::Create(CreateKind::File);
        let open = EventKind::Access(AccessKind::Open(AccessMode::Read));
        assert_eq!(
            classify(&event(rename, "/x/acl.yml"), &names()),
            Seen::Changed
        );
        assert_eq!(
            classify(&event(create, "/x/..data"), &names()),
            Seen::Changed
        );
        assert_eq!(
            classify(&event(open, "/x/acl.yml"), &names()),
            Seen::Nothing
        );
    }

    #[test]
    fn nothing_is_due_while_a_watched_file_is_open_for_writing() {
        let mut watch = WatchLoop::new(names(), Duration::from_secs(3600));
        watch.see(Seen::Changed);
        watch.see(Seen::Writing("acl.yml".into()));
        watch.last_event -= DEBOUNCE_MAX;
        watch.pending_since = Some(Instant::now() - DEBOUNCE_MAX);
        assert!(!watch.due(), "still open for writing");
        watch.see(Seen::Closed("acl.yml".into()));
        watch.last_event -= DEBOUNCE_QUIET;
        assert!(watch.due(), "closed and quiet");
    }
}
