//! Reloading on SIGHUP or when a file changes: one mechanism for every file the server reads
//! at start and may read again (TLS certificates, the config file). Files are polled for their
//! modification time rather than watched through inotify, which misses editors that replace
//! a file and Kubernetes' symlink swaps of mounted ConfigMaps and Secrets.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Why a reload runs, for its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Hangup,
    ChangedFile,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hangup => "SIGHUP",
            Self::ChangedFile => "a changed file",
        }
    }
}

fn modified(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files
        .iter()
        .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .collect()
}

/// Runs `reload` on every SIGHUP and whenever one of `files` changes its modification time
/// (checked every `every`), one reload at a time, until the task is aborted. SIGHUP is taken
/// over before this returns, so from then on it never ends the process.
pub fn on_change<F, Fut>(
    files: Vec<PathBuf>,
    every: Duration,
    reload: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Trigger) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    #[cfg(unix)]
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    tokio::spawn(async move {
        let mut seen = modified(&files);
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let hangup = async {
                match hangups.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hangup = std::future::pending::<()>();
            let trigger = tokio::select! {
                () = hangup => Trigger::Hangup,
                _ = ticks.tick() => {
                    if modified(&files) == seen {
                        continue;
                    }
                    Trigger::ChangedFile
                }
            };
            reload(trigger).await;
            // A reload after SIGHUP has read the files as they are now: a later tick must not
            // reload them again for the same change.
            seen = modified(&files);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_changed_file_reloads_once_and_an_unchanged_one_never() {
        let dir = std::env::temp_dir().join(format!("taskgate-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("watched");
        std::fs::write(&file, "one").unwrap();
        let reloads = Arc::new(AtomicUsize::new(0));
        let counted = reloads.clone();
        let watcher = on_change(vec![file.clone()], Duration::from_millis(20), move |t| {
            assert_eq!(t, Trigger::ChangedFile);
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(reloads.load(Ordering::SeqCst), 0);
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(later)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(reloads.load(Ordering::SeqCst), 1);
        watcher.abort();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
