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
use actix_web::http::header::HeaderValue;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use bytes::Bytes;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// `Content-Type` values. Responses take them as
/// `HeaderValue::from_static(…)`: given a `&str`, actix checks the value and
/// copies it into a new allocation on every response.
pub(crate) mod mime {
    /// JSON answers.
    pub const JSON: &str = "application/json";
    /// Page fragments and dump ranges.
    pub const XML: &str = "text/xml; charset=utf-8";
    /// `/plaintext`.
    pub const TEXT: &str = "text/plain";
}

/// A `Content-Type` value made without an allocation.
pub(crate) fn content_type(mime: &'static str) -> HeaderValue {
    HeaderValue::from_static(mime)
}

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
    Ok(DumpStream::body(state, start, len))
}

/// The response `res` with `len` dump bytes from `start` as its body
/// (`/xml`): sent with `sendfile(2)` by the patched HTTP/1 dispatcher (the
/// head's `send_file`, from [`crate::dump::DumpFile::send_file_range`]), or where it
/// cannot be, as a stream of reads. Checks first that the dump has not
/// changed. (`/wiki` keeps [`page_body`]: checking `<page>`…`</page>` before
/// a `sendfile` takes two small reads, which cost what `sendfile` saves;
/// `docs/BENCHMARKS.md`.)
pub(crate) fn with_dump_bytes(
    mut res: HttpResponseBuilder,
    state: &Arc<AppState>,
    start: u64,
    len: u64,
) -> Result<HttpResponse, ApiError> {
    state.dump.check()?;
    let mut res = res.body(DumpStream::body(state, start, len));
    res.head_mut().send_file = Some(state.dump.send_file_range(start, len));
    Ok(res)
}

/// Streams a byte range of the dump in [`STREAM_CHUNK`] reads.
struct DumpStream {
    state: Arc<AppState>,
    next: u64,
    end: u64,
}

impl DumpStream {
    /// A response body of the `len` dump bytes from `start`, read as it is sent.
    fn body(state: &Arc<AppState>, start: u64, len: u64) -> actix_web::body::BoxBody {
        let stream = DumpStream { state: state.clone(), next: start, end: start + len };
        actix_web::body::BoxBody::new(actix_web::body::SizedStream::new(len, stream))
    }
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

#[cfg(test)]
mod tests {
    use crate::{AppState, Config, configure};
    use actix_web::{App, http::header, test as actix_test, web};

    /// In process there is no socket, so the dispatcher's sendfile path is
    /// not taken: `/xml` bodies must then stream the same bytes by
    /// themselves.
    #[test]
    fn without_sendfile_xml_bodies_stream_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("d.xml");
        std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/sample.xml"), &dump).unwrap();
        let index = dir.path().join("d.xml.wikidex");
        wikidex_indexer::Builder::new(&dump, &index).build().unwrap();
        let xml = std::fs::read(&dump).unwrap();
        let state = AppState::load(Config::new(&index, &dump)).unwrap();
        let mut cases = Vec::new();
        // One read's worth, and a range spanning several reads.
        for (start, end) in [(5usize, 4100usize), (1000, 1000 + 600_000)] {
            cases.push(("/xml".to_string(), Some(format!("bytes={start}-{end}")), start, end));
        }
        actix_web::rt::System::new().block_on(async move {
            let app =
                actix_test::init_service(App::new().app_data(web::Data::new(state)).configure(configure))
                    .await;
            for (uri, range, start, end) in cases {
                let mut req = actix_test::TestRequest::get().uri(&uri);
                if let Some(range) = range {
                    req = req.insert_header((header::RANGE, range));
                }
                let res = actix_test::call_service(&app, req.to_request()).await;
                assert!(res.status().is_success(), "{uri}: {}", res.status());
                let sent = res.response().head().send_file.clone();
                let sent = sent.expect("the response names its file range");
                assert_eq!((sent.offset, sent.len), (start as u64, (end - start + 1) as u64), "{uri}");
                let body = actix_test::read_body(res).await;
                assert!(body[..] == xml[start..=end], "{uri} {start}-{end}: the streamed body differs");
            }
        });
    }
}
