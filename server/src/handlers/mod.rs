//! One module per endpoint group. Handlers are thin: decode the request,
//! ask the index or the dump, render; errors are [`crate::error::ApiError`].

pub mod meta;
pub mod offsets;
pub mod suggest;
pub mod web;
pub mod wiki;
pub mod xml;

use crate::dump::DumpError;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::HttpRequest;
use bytes::Bytes;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Refuses methods other than GET and HEAD (for handlers routed by prefix).
pub(crate) fn get_or_head(req: &HttpRequest) -> Result<(), ApiError> {
    use actix_web::http::Method;
    if req.method() == Method::GET || req.method() == Method::HEAD {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

/// The raw (still percent-encoded) rest of the path after `/{segment}`,
/// without the separating slash.
pub(crate) fn path_rest<'a>(req: &'a HttpRequest, segment: &str) -> &'a str {
    let path = req.uri().path();
    let rest = path.strip_prefix(segment).unwrap_or("");
    rest.strip_prefix('/').unwrap_or(rest)
}

/// Fragments up to this size are read in one `pread`; larger ones stream.
const INLINE_READ: u64 = 1 << 20;
/// Bytes per `pread` when streaming.
const STREAM_CHUNK: usize = 256 << 10;

/// The body for the page at `len` dump bytes from `start` (`/wiki`): one
/// read when small, a stream of chunked reads when large (so a huge page
/// never sits in memory whole). Checks first that the bytes are
/// `<page>`…`</page>`, so a dump edited in place yields a 503 rather than
/// somebody else's bytes.
pub(crate) fn page_body(
    state: &Arc<AppState>,
    start: u64,
    len: u64,
) -> Result<actix_web::body::BoxBody, ApiError> {
    state.dump.check()?;
    let mismatch = || {
        ApiError::Unavailable(format!(
            "the dump does not hold a page at bytes {start}-{}; it changed since indexing",
            start + len - 1
        ))
    };
    if len <= INLINE_READ {
        let mut buf = vec![0u8; len as usize];
        state.dump.read_exact_at(&mut buf, start)?;
        if !(buf.starts_with(b"<page>") && buf.ends_with(b"</page>")) {
            return Err(mismatch());
        }
        return Ok(actix_web::body::BoxBody::new(Bytes::from(buf)));
    }
    let (mut head, mut tail) = ([0u8; 6], [0u8; 7]);
    state.dump.read_exact_at(&mut head, start)?;
    state.dump.read_exact_at(&mut tail, start + len - 7)?;
    if &head != b"<page>" || &tail != b"</page>" {
        return Err(mismatch());
    }
    let stream = DumpStream { state: state.clone(), next: start, end: start + len };
    Ok(actix_web::body::BoxBody::new(actix_web::body::SizedStream::new(len, stream)))
}

/// The body for `len` dump bytes at `start` sent as they are (`/xml`): a
/// stream of reads, which the server replaces by `sendfile(2)` through the
/// extension [`crate::dump::DumpFile::send_file_range`] puts on the
/// response. Checks first that the dump has not changed.
pub(crate) fn dump_range_body(
    state: &Arc<AppState>,
    start: u64,
    len: u64,
) -> Result<actix_web::body::BoxBody, ApiError> {
    state.dump.check()?;
    let stream = DumpStream { state: state.clone(), next: start, end: start + len };
    Ok(actix_web::body::BoxBody::new(actix_web::body::SizedStream::new(len, stream)))
}

/// Streams a byte range of the dump in [`STREAM_CHUNK`] reads.
struct DumpStream {
    state: Arc<AppState>,
    next: u64,
    end: u64,
}

impl futures_core::Stream for DumpStream {
    type Item = Result<Bytes, DumpError>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.next >= self.end {
            return Poll::Ready(None);
        }
        let n = (self.end - self.next).min(STREAM_CHUNK as u64) as usize;
        let mut buf = vec![0u8; n];
        let result =
            self.state.dump.check().and_then(|()| self.state.dump.read_exact_at(&mut buf, self.next));
        match result {
            Ok(()) => {
                self.next += n as u64;
                Poll::Ready(Some(Ok(Bytes::from(buf))))
            }
            Err(e) => {
                // Headers are gone already; ending the stream early makes the
                // client see a short body, never wrong bytes.
                self.next = self.end;
                tracing::error!("{e}");
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}
