//! [`PageSource`]: where the dump's bytes come from, and their HTTP
//! validators.
//!
//! An index built from plain XML serves pages from the dump file
//! ([`DumpFile`]: `pread`, `sendfile`). One built from a `.xml.bz2` serves
//! them from its page store ([`Store`]: zstd frames decompressed through a
//! bounded cache), and the dump itself is not needed. Both answer for the
//! same uncompressed byte space, with the same `ETag`: it is derived from
//! the hash of the whole uncompressed content recorded at index time, so
//! replicas serving the XML and replicas serving a store agree, and from
//! the index build (its files' lengths and checksums, which are the same
//! for both), so that every answer about the content (`/offsets`, `/wiki`,
//! `/xml`, `/opensearch`, `/suggest`) carries the one tag: offsets listed
//! under it fetch the right bytes wherever the tag matches.

use crate::dump::{DumpError, DumpFile};
use actix_http::header::HeaderValue;
use bytes::Bytes;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wikidex_indexer::Manifest;
use wikidex_indexer::store::{CacheStats, Store};

/// Bytes of the dump file per read when a body streams (where `sendfile`
/// cannot be used).
const STREAM_CHUNK: u64 = 64 << 10;

/// The dump's bytes: from the file, or from the page store.
#[derive(Debug)]
pub enum Storage {
    /// The uncompressed dump, read with `pread` and sent with `sendfile`.
    Dump(DumpFile),
    /// The index's page store.
    Store(Store),
}

/// The source of page bytes with its validators, built once at startup.
#[derive(Debug)]
pub struct PageSource {
    bytes: Storage,
    size: u64,
    etag_header: HeaderValue,
    cache_control_header: HeaderValue,
    last_modified: SystemTime,
    last_modified_header: HeaderValue,
}

impl PageSource {
    /// `bytes` for the index described by `manifest`, modified (for
    /// `Last-Modified`) at `mtime_ns`; caches may keep content answers for
    /// `max_age`.
    pub fn new(bytes: Storage, manifest: &Manifest, mtime_ns: i64, max_age: Duration) -> PageSource {
        // Round down to whole seconds: HTTP dates have no finer resolution.
        let secs = Duration::from_nanos(mtime_ns.max(0) as u64).as_secs();
        let last_modified = UNIX_EPOCH + Duration::from_secs(secs);
        let build = serde_json::to_vec(&(manifest.format_version, &manifest.files)).expect("serializable");
        let build = xxhash_rust::xxh3::xxh3_64(&build);
        let etag = format!("\"{}-{build:016x}\"", manifest.content.hex());
        // Both are ASCII we made (a quoted hex tag, an HTTP date).
        let header = |value: String| HeaderValue::try_from(value).expect("an ASCII header value");
        PageSource {
            bytes,
            size: manifest.content.bytes,
            etag_header: header(etag),
            // No `public`: it only lets shared caches keep answers to
            // requests with `Authorization`, which wikidex never asks for
            // (docs/OPERATIONS.md, "REDbot").
            cache_control_header: header(format!("max-age={}", max_age.as_secs())),
            last_modified_header: header(httpdate::fmt_http_date(last_modified)),
            last_modified,
        }
    }

    /// Where the bytes come from.
    pub fn bytes(&self) -> &Storage {
        &self.bytes
    }

    /// The uncompressed dump's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its strong entity tag (quotes included).
    pub fn etag(&self) -> &str {
        self.etag_header.to_str().expect("made from an ASCII string")
    }

    /// Its modification time, whole seconds.
    pub fn last_modified(&self) -> SystemTime {
        self.last_modified
    }

    /// The `ETag` header value.
    pub fn etag_header(&self) -> HeaderValue {
        self.etag_header.clone()
    }

    /// The `Cache-Control` header value of content answers.
    pub fn cache_control_header(&self) -> HeaderValue {
        self.cache_control_header.clone()
    }

    /// The `Last-Modified` header value.
    pub fn last_modified_header(&self) -> HeaderValue {
        self.last_modified_header.clone()
    }

    /// Checks the bytes are still the indexed ones: the dump file may be
    /// changed under the server (an `fstat` per read); the store is the
    /// index's own and is checked frame by frame as it is read.
    pub fn check(&self) -> Result<(), DumpError> {
        match &self.bytes {
            Storage::Dump(dump) => dump.check(),
            Storage::Store(_) => Ok(()),
        }
    }

    /// Which storage is served, for `/stats`: `dump` or `store`.
    pub fn storage(&self) -> &'static str {
        match &self.bytes {
            Storage::Dump(_) => "dump",
            Storage::Store(_) => "store",
        }
    }

    /// The store's frame cache counters, when pages come from the store.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        match &self.bytes {
            Storage::Dump(_) => None,
            Storage::Store(store) => Some(store.cache_stats()),
        }
    }

    /// The next piece of a body streaming bytes `at..end`, read as it is
    /// sent: [`STREAM_CHUNK`] bytes of the dump file, or what is left of the
    /// store frame holding `at` (so a page spanning many frames never waits
    /// for all of them, and other connections are served between frames).
    pub fn piece(&self, at: u64, end: u64) -> Result<Bytes, DumpError> {
        match &self.bytes {
            Storage::Dump(dump) => {
                dump.check()?;
                let mut buf = vec![0u8; (end - at).min(STREAM_CHUNK) as usize];
                dump.read_exact_at(&mut buf, at)?;
                Ok(Bytes::from(buf))
            }
            Storage::Store(store) => {
                let (frame, part) = store.piece(at, end)?;
                Ok(Bytes::from_owner(frame).slice(part))
            }
        }
    }

    /// Reads exactly `buf.len()` bytes at `offset`.
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), DumpError> {
        match &self.bytes {
            Storage::Dump(dump) => dump.read_exact_at(buf, offset),
            Storage::Store(store) => {
                let mut at = 0;
                store
                    .read(offset..offset + buf.len() as u64, |part: &[u8]| {
                        buf[at..at + part.len()].copy_from_slice(part);
                        at += part.len();
                        Ok::<(), wikidex_indexer::store::StoreError>(())
                    })
                    .map_err(DumpError::from)
            }
        }
    }
}
