//! [`DumpFile`]: reading page bytes from the dump safely while it may change.
//!
//! The dump is read with `pread`, not a memory map: if an operator truncates
//! or rewrites the file under a running server, a mapped read would be
//! killed by SIGBUS, while `pread` just returns fewer bytes. A changed dump
//! is refused with a 503 instead of serving bytes the index does not
//! describe ([`DumpFile::check`], before each read). While the server holds
//! a read lease on the dump ([`lease`]), the kernel tells it before anyone
//! can write (and an inotify watch just after a `touch`), and the check is
//! a load of a flag; without one (`--dump-watch fstat`, or where no lease
//! can be had), or once somebody opened the dump for writing or touched it,
//! each check `fstat`s the open file for its size and mtime. A dump *replaced* by rename keeps being served
//! from the old, still-open inode, which matches the index exactly.
//!
//! Ranges sent whole (`/xml`) go out with `sendfile(2)`, page cache to
//! socket ([`DumpFile::send_file_range`]); a file that shrinks mid-send
//! makes `sendfile` stop short and the connection close.

use crate::config::DumpWatch;
use actix_http::h1::SendFileRange;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wikidex_indexer::DumpIdentity;

mod lease;
use lease::Lease;

/// What can go wrong reading the dump.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// The file changed size or modification time since startup.
    #[error("the dump file changed since the server started ({0}); restart after re-indexing")]
    Changed(String),
    /// The page store could not give the bytes (a damaged frame).
    #[error(transparent)]
    Store(#[from] wikidex_indexer::store::StoreError),
    /// A read failed or came back short.
    #[error("reading the dump failed at byte {offset}: {message}")]
    Read {
        /// Where the read started.
        offset: u64,
        /// What happened.
        message: String,
    },
}

/// The open dump, its identity and its HTTP validators.
#[derive(Debug)]
pub struct DumpFile {
    /// Declared before `file`, so it is let go of before the file closes.
    lease: Option<Lease>,
    file: Arc<File>,
    path: PathBuf,
    size: u64,
    mtime_ns: i64,
}

impl DumpFile {
    /// Opens `path` and checks it is the dump `indexed` describes; `watch`
    /// says how [`DumpFile::check`] is to notice a change.
    pub fn open(
        path: &Path,
        indexed: &DumpIdentity,
        watch: DumpWatch,
    ) -> Result<DumpFile, wikidex_indexer::Error> {
        let file = File::open(path).map_err(|e| wikidex_indexer::Error::io(path, "open the dump", e))?;
        let now = DumpIdentity::of_file(&file, path)?;
        if let Some(diff) = indexed.difference(&now) {
            return Err(wikidex_indexer::Error::DumpChanged { path: path.to_path_buf(), message: diff });
        }
        let lease = match watch {
            DumpWatch::Lease => Lease::take(&file, path)
                .inspect_err(|why| {
                    tracing::info!("no read lease on {} ({why}): checking it with fstat", path.display())
                })
                .ok(),
            DumpWatch::Fstat => None,
        };
        let dump = DumpFile {
            lease,
            file: Arc::new(file),
            path: path.to_path_buf(),
            size: now.bytes,
            mtime_ns: now.mtime_ns,
        };
        // Whatever changed between the identity check and the lease.
        dump.check_stat().map_err(|e| wikidex_indexer::Error::DumpChanged {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(dump)
    }

    /// How [`DumpFile::check`] learns of a change now: [`DumpWatch::Lease`]
    /// while the server holds a read lease on the dump, [`DumpWatch::Fstat`]
    /// otherwise (asked for, refused, or broken since).
    ///
    /// ```no_run
    /// # fn demo(dump: &wikidex_server::dump::DumpFile) {
    /// println!("dump_watch: {}", dump.watch().name());
    /// # }
    /// ```
    pub fn watch(&self) -> DumpWatch {
        if self.lease.as_ref().is_some_and(Lease::holds) { DumpWatch::Lease } else { DumpWatch::Fstat }
    }

    /// The dump's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its modification time, nanoseconds since the Unix epoch.
    pub fn mtime_ns(&self) -> i64 {
        self.mtime_ns
    }

    /// Checks the dump is as it was at startup: nobody can have written to
    /// it while the lease holds; otherwise it must still have the size and
    /// mtime it had.
    pub fn check(&self) -> Result<(), DumpError> {
        if self.lease.as_ref().is_some_and(Lease::holds) {
            return Ok(());
        }
        self.check_stat()
    }

    /// Checks the open file still has the size and mtime it had at startup.
    fn check_stat(&self) -> Result<(), DumpError> {
        let meta = self.file.metadata().map_err(|e| DumpError::Read { offset: 0, message: e.to_string() })?;
        if meta.len() != self.size {
            return Err(DumpError::Changed(format!("size was {}, is {}", self.size, meta.len())));
        }
        let mtime_ns = meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec());
        if mtime_ns != self.mtime_ns {
            return Err(DumpError::Changed("modification time differs".into()));
        }
        Ok(())
    }

    /// A response extension asking the HTTP/1 dispatcher to send `len`
    /// bytes from `offset` with `sendfile(2)`; the response body must hold
    /// the same bytes (it is sent where `sendfile` cannot be used).
    pub fn send_file_range(&self, offset: u64, len: u64) -> SendFileRange {
        SendFileRange { file: self.file.clone(), offset, len }
    }

    /// Reads exactly `buf.len()` bytes at `offset`.
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), DumpError> {
        self.file.read_exact_at(buf, offset).map_err(|e| {
            let message = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                "the file ended early (truncated?)".to_string()
            } else {
                e.to_string()
            };
            DumpError::Read { offset, message }
        })
    }
}
