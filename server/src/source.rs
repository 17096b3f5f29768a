//! [`PageSource`]: where the dump's bytes come from, and their HTTP
//! validators.
//!
//! An index built from plain XML serves pages from the dump file
//! ([`DumpFile`]: `pread`, `sendfile`). One built from a `.xml.bz2` serves
//! them from its page store ([`Store`]: zstd frames decompressed through a
//! bounded cache), and the dump itself is not needed. Both answer for the
//! same uncompressed byte space, with the same `ETag`: it is derived from
//! the hash of the whole uncompressed content recorded at index time, so
//! replicas serving the XML and replicas serving a store agree.

use crate::dump::{DumpError, DumpFile};
use actix_http::header::HeaderValue;
use actix_web::body::BoxBody;
use bytes::Bytes;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wikidex_indexer::Manifest;
use wikidex_indexer::store::{CacheStats, Store};

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
    last_modified: SystemTime,
    last_modified_header: HeaderValue,
}

impl PageSource {
    /// `bytes` for the index described by `manifest`, modified (for
    /// `Last-Modified`) at `mtime_ns`.
    pub fn new(bytes: Storage, manifest: &Manifest, mtime_ns: i64) -> PageSource {
        // Round down to whole seconds: HTTP dates have no finer resolution.
        let secs = Duration::from_nanos(mtime_ns.max(0) as u64).as_secs();
        let last_modified = UNIX_EPOCH + Duration::from_secs(secs);
        let etag = format!("\"{}-{:x}\"", manifest.content.hex(), manifest.content.bytes);
        // Both are ASCII we made (a quoted hex tag, an HTTP date).
        let header = |value: String| HeaderValue::try_from(value).expect("an ASCII header value");
        PageSource {
            bytes,
            size: manifest.content.bytes,
            etag_header: header(etag),
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

/// A response body of the `len` store bytes from `start`, decompressed
/// frame by frame as it is sent: a page spanning many frames never waits
/// for all of them, and other connections are served between frames.
pub(crate) fn store_body(source: &Arc<crate::AppState>, start: u64, len: u64) -> BoxBody {
    let stream = StoreStream { state: source.clone(), next: start, end: start + len };
    BoxBody::new(actix_web::body::SizedStream::new(len, stream))
}

struct StoreStream {
    state: Arc<crate::AppState>,
    next: u64,
    end: u64,
}

impl futures_core::Stream for StoreStream {
    type Item = Result<Bytes, DumpError>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.next >= self.end {
            return Poll::Ready(None);
        }
        let Storage::Store(store) = &self.state.dump.bytes else {
            unreachable!("a store body is only made for a store")
        };
        let i = store.frame_at(self.next);
        let frame = store.frame(i).map_err(DumpError::from);
        match frame {
            Ok(frame) => {
                let range = store.frame_range(i);
                let from = (self.next - range.start) as usize;
                let to = (self.end.min(range.end) - range.start) as usize;
                self.next = range.start + to as u64;
                Poll::Ready(Some(Ok(Bytes::from_owner(frame).slice(from..to))))
            }
            Err(e) => {
                // Headers are gone already; ending the stream early makes
                // the client see a short body, never wrong bytes.
                self.next = self.end;
                tracing::error!("{e}");
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}
