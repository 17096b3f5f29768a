//! The one error type of this crate.
//!
//! Every variant carries what a person needs to act: the file, the byte offset,
//! what was expected and what was found. The `wikidex` binary adds its own
//! context with `anyhow` and prints the chain; this crate never prints.

use std::io;
use std::path::PathBuf;

/// A specialized `Result` for indexing and reading indexes.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while scanning a dump, writing an index or
/// opening one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call on `path` failed.
    #[error("{path}: failed to {action}: {cause}")]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// What we were doing, as a verb phrase ("open", "write the index").
        action: &'static str,
        /// The underlying error.
        cause: io::Error,
    },
    /// The dump is not a well-formed MediaWiki XML export at `offset`.
    #[error("{path}: byte {offset}: {message}")]
    Dump {
        /// The dump file.
        path: PathBuf,
        /// Byte offset in the dump where the problem was seen.
        offset: u64,
        /// What is wrong, for a person.
        message: String,
    },
    /// An index file is damaged or inconsistent with the rest of the index.
    #[error("{path}: corrupt index file: {message} (rebuild it with `wikidex index`)")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An index file's content does not match its checksum.
    #[error(
        "{path}: checksum mismatch (stored {expected:#010x}, computed {got:#010x}): the file is corrupt; rebuild the index with `wikidex index`"
    )]
    ChecksumMismatch {
        /// The damaged file.
        path: PathBuf,
        /// The CRC-32 stored when the file was written.
        expected: u32,
        /// The CRC-32 of the bytes now on disk.
        got: u32,
    },
    /// The index was written by an incompatible version of wikidex.
    #[error(
        "{path}: index format version {got} is not supported (this wikidex reads versions {oldest} to {expected}); rebuild it with `wikidex index`"
    )]
    Version {
        /// The index file.
        path: PathBuf,
        /// The newest version this build reads.
        expected: u32,
        /// The oldest version this build reads.
        oldest: u32,
        /// The version found on disk.
        got: u32,
    },
    /// The dump differs from the one the index was built from.
    #[error("{path}: the dump changed since it was indexed ({message}); re-run `wikidex index`")]
    DumpChanged {
        /// The dump file.
        path: PathBuf,
        /// What differs (size, modification time or content fingerprint).
        message: String,
    },
    /// The index's fst could not be read.
    #[error("{path}: invalid fst: {cause}")]
    Fst {
        /// The fst file.
        path: PathBuf,
        /// The fst crate's error.
        cause: fst::Error,
    },
    /// A limit of the format was exceeded (e.g. more than 4 billion pages).
    #[error("{path}: {message}")]
    Limit {
        /// The dump or index file.
        path: PathBuf,
        /// Which limit and by how much.
        message: String,
    },
    /// A compressed dump could not be read: damaged or truncated data, an
    /// unsupported format, a companion index that does not match.
    #[error("{path}: {message}")]
    Compressed {
        /// The compressed dump (or its companion index).
        path: PathBuf,
        /// What is wrong, with the compressed byte offset where known, and
        /// what to do.
        message: String,
    },
    /// The XML inside a compressed dump is malformed at `offset`.
    #[error("{path}: byte {offset} of the decompressed XML (compressed bytes up to {compressed}): {message}")]
    CompressedDump {
        /// The compressed dump.
        path: PathBuf,
        /// Offset in the decompressed XML.
        offset: u64,
        /// How far into the compressed file the decoder had read.
        compressed: u64,
        /// What is wrong.
        message: String,
    },
    /// The page store is damaged or does not match the index.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The build was cancelled (Ctrl-C); nothing was written.
    #[error("interrupted; no index was written")]
    Interrupted,
}

impl Error {
    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        Error::Io { path: path.into(), action, cause: source }
    }

    /// Shorthand for [`Error::Corrupt`].
    pub fn corrupt(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Corrupt { path: path.into(), message: message.into() }
    }
}
