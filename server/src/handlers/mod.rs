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
use crate::source::Storage;
use crate::state::AppState;
use actix_web::http::Uri;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpResponse, HttpResponseBuilder};
use bytes::Bytes;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Whether `If-None-Match` field lines `values` name `etag` (RFC 9110
/// §13.1.2): `*`, or a list with an entity-tag equal to it by weak
/// comparison (`W/"x"` matches `"x"`). A malformed member matches nothing.
pub(crate) fn none_match<'a>(values: impl IntoIterator<Item = &'a [u8]>, etag: &str) -> bool {
    values.into_iter().any(|value| {
        value
            .split(|&b| b == b',')
            .map(|t| t.trim_ascii())
            .any(|tag| tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == etag.as_bytes())
    })
}

/// Adds the validators of an answer about the dump's content: the one
/// strong `ETag` of this dump and index ([`crate::source`]) and
/// `Cache-Control: max-age=…` (`--max-age`). Straight into the
/// map, as pre-built values: no conversion or check per answer.
pub(crate) fn content_validators(headers: &mut HeaderMap, state: &AppState) {
    headers.insert(header::ETAG, state.dump.etag_header());
    headers.insert(header::CACHE_CONTROL, state.dump.cache_control_header());
}

/// `304 Not Modified` (with the validators) when the request's
/// `If-None-Match` names this content's tag: the client or cache already
/// holds the answer it asks for.
pub(crate) fn not_modified(request: &HeaderMap, state: &AppState) -> Option<HttpResponse> {
    let mut values = request.get_all(header::IF_NONE_MATCH).map(|v| v.as_bytes()).peekable();
    values.peek()?;
    if !none_match(values, state.dump.etag()) {
        return None;
    }
    let mut res = HttpResponse::NotModified().finish();
    content_validators(res.headers_mut(), state);
    Some(res)
}

/// The raw (still percent-encoded) rest of the path after `/{segment}`,
/// without the separating slash.
pub(crate) fn path_rest<'a>(uri: &'a Uri, segment: &str) -> &'a str {
    let path = uri.path();
    let rest = path.strip_prefix(segment).unwrap_or("");
    rest.strip_prefix('/').unwrap_or(rest)
}

/// `/wiki` pages at least this long are sent with `sendfile(2)` after the
/// `<page>`…`</page>` check, not read into a buffer. For smaller pages the
/// check's two extra reads cost what `sendfile` saves (docs/BENCHMARKS.md).
/// 128 KiB is glibc's initial mmap threshold: a buffer that large gets a
/// mapping of its own, and freeing it raises the threshold, after which such
/// buffers stay on the heap and the server's memory steps up with the
/// largest page asked for so far (the soak's RSS steps).
const SENDFILE_FROM: u64 = 128 << 10;

/// `res` answering with the page at `len` dump bytes from `start`
/// (`/wiki`): one read when small, `sendfile` when large (see
/// [`SENDFILE_FROM`]). Checks first that the dump has not changed and that
/// the bytes are `<page>`…`</page>`, so a dump edited in place yields a 503
/// rather than somebody else's bytes.
pub(crate) fn with_page(
    mut res: HttpResponseBuilder,
    state: &Arc<AppState>,
    start: u64,
    len: u64,
) -> Result<HttpResponse, ApiError> {
    state.dump.check()?;
    let mismatch = || {
        ApiError::Unavailable(format!(
            "the dump does not hold a page at bytes {start}-{}; it changed since indexing",
            start + len - 1
        ))
    };
    if len < SENDFILE_FROM {
        let mut buf = vec![0u8; len as usize];
        state.dump.read_exact_at(&mut buf, start)?;
        if !(buf.starts_with(b"<page>") && buf.ends_with(b"</page>")) {
            return Err(mismatch());
        }
        return Ok(res.body(Bytes::from(buf)));
    }
    let (mut head, mut tail) = ([0u8; 6], [0u8; 7]);
    state.dump.read_exact_at(&mut head, start)?;
    state.dump.read_exact_at(&mut tail, start + len - 7)?;
    if &head != b"<page>" || &tail != b"</page>" {
        return Err(mismatch());
    }
    Ok(file_body(res, state, start, len))
}

/// `res` answering with `len` dump bytes from `start` (`/xml`), after
/// checking that the dump has not changed.
pub(crate) fn with_dump_bytes(
    res: HttpResponseBuilder,
    state: &Arc<AppState>,
    start: u64,
    len: u64,
) -> Result<HttpResponse, ApiError> {
    state.dump.check()?;
    Ok(file_body(res, state, start, len))
}

/// `res` with `len` dump bytes from `start` as its body: from the dump file
/// sent with `sendfile(2)` by the patched HTTP/1 dispatcher (the head's
/// `send_file`, from [`crate::dump::DumpFile::send_file_range`]), or where
/// it cannot be, and from the page store, as a stream of pieces.
fn file_body(mut res: HttpResponseBuilder, state: &Arc<AppState>, start: u64, len: u64) -> HttpResponse {
    let mut res = res.body(DumpStream::body(state, start, len));
    if let Storage::Dump(dump) = state.dump.bytes() {
        res.head_mut().send_file = Some(dump.send_file_range(start, len));
    }
    res
}

/// Streams a byte range of the dump piece by piece
/// ([`crate::source::PageSource::piece`]).
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
        match self.state.dump.piece(self.next, self.end) {
            Ok(piece) => {
                self.next += piece.len() as u64;
                Poll::Ready(Some(Ok(piece)))
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
    use crate::routes::serve;
    use crate::{AppState, Config};
    use actix_http::test::TestRequest;
    use actix_web::http::header;
    use std::sync::Arc;

    /// The `(title, start, end)` of every page of `xml` whose title has no
    /// XML escapes.
    fn pages(xml: &[u8]) -> Vec<(String, usize, usize)> {
        let find = |from: usize, what: &[u8]| memchr::memmem::find(&xml[from..], what).map(|i| from + i);
        let mut pages = Vec::new();
        let mut at = 0;
        while let Some(start) = find(at, b"<page>") {
            let end = find(start, b"</page>").unwrap() + b"</page>".len() - 1;
            let title_start = find(start, b"<title>").unwrap() + b"<title>".len();
            let title =
                std::str::from_utf8(&xml[title_start..find(title_start, b"</title>").unwrap()]).unwrap();
            if !title.contains('&') {
                pages.push((title.to_string(), start, end));
            }
            at = end;
        }
        pages
    }

    /// In process there is no socket, so the dispatcher's sendfile path is
    /// not taken: `/xml` bodies, and `/wiki` pages of [`super::SENDFILE_FROM`]
    /// bytes or more, must then stream the same bytes by themselves.
    #[test]
    fn without_sendfile_xml_bodies_and_big_pages_stream_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("d.xml");
        std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/sample.xml"), &dump).unwrap();
        let index = dir.path().join("d.xml.wikidex");
        wikidex_indexer::Builder::new(&dump, &index).build().unwrap();
        let xml = std::fs::read(&dump).unwrap();
        let state = Arc::new(AppState::load(Config::new(&index, &dump)).unwrap());
        let mut cases = Vec::new();
        // One read's worth, and a range spanning several reads.
        for (start, end) in [(5usize, 4100usize), (1000, 1000 + 600_000)] {
            cases.push(("/xml".to_string(), Some(format!("bytes={start}-{end}")), start, end, true));
        }
        // The largest page, one just over the line, and one under it.
        let mut pages = pages(&xml);
        pages.sort_by_key(|(_, start, end)| end - start);
        let line = super::SENDFILE_FROM as usize;
        let over =
            pages.iter().find(|(_, start, end)| end - start + 1 >= line).expect("a page over the line");
        let under = pages.iter().rev().find(|(_, start, end)| end - start + 1 < line).unwrap();
        for (title, start, end) in [pages.last().unwrap(), over, under] {
            let path = percent_encoding::utf8_percent_encode(title, percent_encoding::NON_ALPHANUMERIC);
            cases.push((format!("/wiki/{path}?redirect=no"), None, *start, *end, end - start + 1 >= line));
        }
        actix_web::rt::System::new().block_on(async move {
            for (uri, range, start, end, by_sendfile) in cases {
                let mut req = TestRequest::with_uri(&uri);
                if let Some(range) = range {
                    req.insert_header((header::RANGE, range));
                }
                let res = serve(&req.finish(), &state);
                assert!(res.status().is_success(), "{uri}: {}", res.status());
                let sent = res.head().send_file.clone().map(|sent| (sent.offset, sent.len));
                let range = (start as u64, (end - start + 1) as u64);
                assert_eq!(sent, by_sendfile.then_some(range), "{uri}: the file range for sendfile");
                let body = actix_http::body::to_bytes(res.into_body()).await.unwrap();
                assert!(body[..] == xml[start..=end], "{uri} {start}-{end}: the streamed body differs");
            }
        });
    }
}
