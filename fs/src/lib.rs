//! magpie-fs: asynchronous file system access (`magpie::fs`).
//!
//! Operating systems have no usable readiness model for regular files, so, as in every
//! production runtime, each operation runs `std::fs` on the runtime's blocking pool
//! (asyncio's `loop.run_in_executor`). What makes it cheap is doing few round trips:
//!
//! * whole-file helpers ([`read`], [`write()`], [`read_to_string`], [`copy`]) are one pool
//!   round trip each, whatever the file's size;
//! * [`File`] reads ahead: a read of a few KiB fetches a growing chunk (64 KiB, doubling
//!   on sequential reads up to [`File::set_max_buf_size`], 2 MiB by default), and later
//!   small reads are served from memory, so reading a large file through an 8 KiB buffer
//!   costs one round trip per chunk, not per buffer;
//! * [`File`] writes behind: a write returns once the bytes are copied into the file's
//!   buffer; writes made while one is in flight are appended to the next batch;
//! * [`ReadDir`] fetches directory entries 32 at a time.
//!
//! Every function needs a magpie runtime (it uses the runtime's blocking pool); outside
//! one it returns an `io::Error` saying so, rather than panicking. Errors from the OS
//! (`NotFound`, `PermissionDenied`, ...) come back unchanged.
//!
//! ```
//! # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("magpie-fs-doc-{}", std::process::id()));
//! magpie_fs::create_dir_all(&dir).await?;
//! let path = dir.join("hello.txt");
//! magpie_fs::write(&path, "hello, file").await?;
//! assert_eq!(magpie_fs::read_to_string(&path).await?, "hello, file");
//! assert_eq!(magpie_fs::metadata(&path).await?.len(), 11);
//! magpie_fs::remove_dir_all(&dir).await?;
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
#![warn(missing_docs)]

mod file;
mod open_options;
mod read_dir;
#[cfg(feature = "tokio-io")]
mod tokio_io;

pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{DirEntry, ReadDir, read_dir};

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

/// Runs `f` on the current runtime's blocking pool and returns its result.
///
/// Outside a runtime, or when the runtime shuts down before `f` ran, the result is an
/// `io::Error` (kind `Other`) that says so; a panic inside `f` is re-raised here.
pub(crate) async fn asyncify<F, T>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let handle = current()?;
    match handle.spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(join_error(e)),
    }
}

pub(crate) fn current() -> io::Result<magpie_runtime::runtime::Handle> {
    magpie_runtime::runtime::Handle::try_current().map_err(|_| {
        io::Error::other(
            "magpie::fs needs a magpie runtime (it runs file operations on the runtime's \
             blocking pool): call it from inside `Runtime::block_on`, a spawned task or \
             `#[magpie::main]`",
        )
    })
}

pub(crate) fn join_error(e: magpie_runtime::task::JoinError) -> io::Error {
    if e.is_panic() {
        std::panic::resume_unwind(e.into_panic())
    }
    io::Error::other("magpie::fs: the runtime shut down before the file operation ran")
}

/// Reads the whole file at `path` into a `Vec` (one blocking-pool round trip).
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// Reads the whole file at `path` into a `String`; invalid UTF-8 is an `InvalidData`
/// error.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Writes `contents` as the whole content of the file at `path`, creating it if needed
/// and truncating it otherwise.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}

/// Metadata of the file at `path`, following symbolic links.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::metadata(path)).await
}

/// Metadata of `path` itself, not following a symbolic link.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::symlink_metadata(path)).await
}

/// Whether `path` exists; errors other than "not found" (a permission error on a parent
/// directory, say) are returned rather than read as "no".
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    asyncify(move || path.try_exists()).await
}

/// Creates a directory; its parent must exist.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir(path)).await
}

/// Creates a directory and every missing parent.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir_all(path)).await
}

/// Removes a file (or a symbolic link).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_file(path)).await
}

/// Removes an empty directory.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir(path)).await
}

/// Removes a directory and everything in it (one blocking-pool round trip).
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir_all(path)).await
}

/// Renames `from` to `to`, replacing `to` if it is a file.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::rename(from, to)).await
}

/// Copies the contents and permissions of `from` to `to`; returns the number of bytes
/// copied (one blocking-pool round trip; the kernel copies without user-space buffers
/// where it can).
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::copy(from, to)).await
}

/// Creates a hard link `link` to `original`.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::fs::hard_link(original, link)).await
}

/// Creates a symbolic link `link` pointing at `original`.
#[cfg(unix)]
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::os::unix::fs::symlink(original, link)).await
}

/// The target of the symbolic link at `path`.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_link(path)).await
}

/// The absolute form of `path`, with every symbolic link resolved.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::canonicalize(path)).await
}

/// Sets the permissions of the file at `path`.
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::set_permissions(path, perm)).await
}
