//! [`DumpFile`]: reading page bytes from the dump safely while it may change.
//!
//! The dump is read with `pread`, not a memory map: if an operator truncates
//! or rewrites the file under a running server, a mapped read would be
//! killed by SIGBUS, while `pread` just returns fewer bytes. A changed dump
//! is refused with a 503 instead of serving bytes the index does not
//! describe: [`DumpFile::check`] `fstat`s the open file for its size and
//! mtime before each read. A dump *replaced* by rename keeps being served
//! from the old, still-open inode, which matches the index exactly.
//!
//! Ranges sent whole (`/xml`) go out with `sendfile(2)`, page cache to
//! socket ([`DumpFile::send_file_range`]); a file that shrinks mid-send
//! makes `sendfile` stop short and the connection close.

use actix_http::h1::SendFileRange;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wikidex_indexer::DumpIdentity;

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
    file: Arc<File>,
    path: PathBuf,
    size: u64,
    mtime_ns: i64,
}

impl DumpFile {
    /// Opens `path` and checks it is the dump `indexed` describes.
    pub fn open(path: &Path, indexed: &DumpIdentity) -> Result<DumpFile, wikidex_indexer::Error> {
        let file = File::open(path).map_err(|e| wikidex_indexer::Error::io(path, "open the dump", e))?;
        let now = DumpIdentity::of_file(&file, path)?;
        if let Some(diff) = indexed.difference(&now) {
            return Err(wikidex_indexer::Error::DumpChanged { path: path.to_path_buf(), message: diff });
        }
        let dump = DumpFile {
            file: Arc::new(file),
            path: path.to_path_buf(),
            size: now.bytes,
            mtime_ns: now.mtime_ns,
        };
        // Whatever changed since the identity check.
        dump.check().map_err(|e| wikidex_indexer::Error::DumpChanged {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(dump)
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

    /// Checks the open file still has the size and mtime it had at startup.
    pub fn check(&self) -> Result<(), DumpError> {
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
