use crate::{asyncify, current, join_error};
use futures_core::Stream;
use magpie_runtime::task::JoinHandle;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{FileType, Metadata};
use std::future::{Future, poll_fn};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

/// Entries fetched per blocking-pool round trip.
const BATCH: usize = 32;

/// Opens the directory at `path` for iteration (`std::fs::read_dir`).
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("magpie-readdir-doc-{}", std::process::id()));
/// magpie_fs::create_dir_all(&dir).await?;
/// magpie_fs::write(dir.join("a"), b"1").await?;
/// let mut names = Vec::new();
/// let mut entries = magpie_fs::read_dir(&dir).await?;
/// while let Some(entry) = entries.next_entry().await? {
///     names.push(entry.file_name());
/// }
/// assert_eq!(names, ["a"]);
/// magpie_fs::remove_dir_all(&dir).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let batch = asyncify(move || Ok(fetch(std::fs::read_dir(path)?))).await?;
    Ok(ReadDir {
        state: State::Idle(Some(batch)),
    })
}

/// The entries of a directory, fetched 32 at a time on the blocking pool. Also a
/// `Stream` of `io::Result<DirEntry>`.
#[derive(Debug)]
pub struct ReadDir {
    state: State,
}

#[derive(Debug)]
enum State {
    /// `None` once the directory is exhausted.
    Idle(Option<Batch>),
    Busy(JoinHandle<Batch>),
}

#[derive(Debug)]
struct Batch {
    entries: VecDeque<io::Result<DirEntry>>,
    /// `None` when the OS said there is nothing more.
    rest: Option<std::fs::ReadDir>,
}

fn fetch(mut rd: std::fs::ReadDir) -> Batch {
    let mut entries = VecDeque::with_capacity(BATCH);
    let mut done = false;
    while entries.len() < BATCH {
        match rd.next() {
            Some(Ok(e)) => {
                // The file type is usually in the directory entry itself (d_type), so
                // fetching it here costs nothing and saves a round trip later.
                let file_type = e.file_type();
                entries.push_back(Ok(DirEntry {
                    std: Arc::new(e),
                    file_type: file_type.map_err(|e| e.kind()),
                }))
            }
            Some(Err(e)) => entries.push_back(Err(e)),
            None => {
                done = true;
                break;
            }
        }
    }
    Batch {
        entries,
        rest: (!done).then_some(rd),
    }
}

impl ReadDir {
    /// The next entry, or `None` at the end. Cancel-safe: an entry is never lost by
    /// dropping this future.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry (`Ready(Ok(None))` at the end).
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle(None) => return Poll::Ready(Ok(None)),
                State::Idle(Some(batch)) => {
                    if let Some(entry) = batch.entries.pop_front() {
                        return Poll::Ready(entry.map(Some));
                    }
                    let Some(rd) = batch.rest.take() else {
                        self.state = State::Idle(None);
                        return Poll::Ready(Ok(None));
                    };
                    let handle = current()?;
                    self.state = State::Busy(handle.spawn_blocking(move || fetch(rd)));
                }
                State::Busy(handle) => {
                    let res = ready!(Pin::new(handle).poll(cx));
                    match res {
                        Ok(batch) => self.state = State::Idle(Some(batch)),
                        Err(e) => {
                            self.state = State::Idle(None);
                            return Poll::Ready(Err(join_error(e)));
                        }
                    }
                }
            }
        }
    }
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(|r| r.transpose())
    }
}

/// One entry of a [`ReadDir`].
#[derive(Debug, Clone)]
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    file_type: Result<FileType, io::ErrorKind>,
}

impl DirEntry {
    /// The full path: the directory given to [`read_dir`] joined with the file name.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The bare file name.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's inode number.
    #[cfg(unix)]
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.std)
    }

    /// The entry's metadata (not following a symbolic link), fetched on the blocking
    /// pool.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// The entry's file type. It was read with the entry (no extra round trip), so this
    /// completes at once.
    pub async fn file_type(&self) -> io::Result<FileType> {
        match self.file_type {
            Ok(t) => Ok(t),
            Err(_) => {
                let std = self.std.clone();
                asyncify(move || std.file_type()).await
            }
        }
    }
}
