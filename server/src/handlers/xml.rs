//! `GET /xml` with `Range: bytes=…`: bytes of the dump (RFC 9110 ranges,
//! one range per request, with `ETag`/`Last-Modified` and the preconditions
//! of RFC 9110 §13.2.2 in its order: `If-Match` (else
//! `If-Unmodified-Since`), `If-None-Match` (else `If-Modified-Since`), then
//! `If-Range`). A client that holds offsets sends the dump's `ETag` (on
//! every `/wiki` and `/xml` answer) as `If-Match`: a server on another dump
//! answers 412 instead of another page's bytes, unless it is the dump this
//! server served before its last reload or the next one it was given
//! (`crate::reload`): then the bytes come from that dump.

use super::with_dump_bytes;
use crate::error::ApiError;
use crate::mime::{self, content_type};
use crate::range::{RangeError, if_match, if_range_matches, modified_since, parse_range};
use crate::state::AppState;
use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use std::sync::Arc;

/// The answer to a GET or HEAD of `/xml` with these request `headers`.
pub(crate) fn answer(headers: &HeaderMap, state: &Arc<AppState>) -> Result<HttpResponse, ApiError> {
    let dump = &state.dump;
    let size = dump.size();
    // RFC 9110 §13.2.2: If-Match before anything about the range.
    let mut preconditions = headers.get_all(header::IF_MATCH).map(|v| v.as_bytes()).peekable();
    if preconditions.peek().is_some() {
        match if_match(preconditions, dump.etag()) {
            Ok(true) => {}
            Ok(false) => {
                let tags = || headers.get_all(header::IF_MATCH).map(|v| v.as_bytes());
                if let Some(other) =
                    state.others().find(|other| if_match(tags(), other.dump.etag()) == Ok(true))
                {
                    return answer(headers, &other);
                }
                return Err(ApiError::PreconditionFailed(format!(
                    "If-Match names another dump: this server's is {}; look the title up again here",
                    dump.etag()
                )));
            }
            Err(message) => return Err(ApiError::BadRequest(message)),
        }
    } else if let Some(date) = headers.get(header::IF_UNMODIFIED_SINCE)
        && modified_since(date.as_bytes(), dump.last_modified()) == Some(true)
    {
        return Err(ApiError::PreconditionFailed(format!(
            "the dump was modified after If-Unmodified-Since: this server's is {}, last modified {}; \
             look the title up again here",
            dump.etag(),
            dump.last_modified_header().to_str().unwrap_or_default()
        )));
    }
    // §13.2.2 again: If-None-Match next, and a GET it matches is a 304
    // whatever its Range; without it, If-Modified-Since.
    if let Some(res) = super::not_modified(headers, state) {
        return Ok(res);
    }
    if !headers.contains_key(header::IF_NONE_MATCH)
        && let Some(date) = headers.get(header::IF_MODIFIED_SINCE)
        && modified_since(date.as_bytes(), dump.last_modified()) == Some(false)
    {
        let mut res = HttpResponse::NotModified().finish();
        super::content_validators(res.headers_mut(), state);
        res.headers_mut().insert(header::LAST_MODIFIED, dump.last_modified_header());
        return Ok(res);
    }
    let mut ranges = headers.get_all(header::RANGE);
    let range = ranges.next();
    if ranges.next().is_some() {
        return Err(RangeError::MultipleRanges { size }.into());
    }
    // An If-Range that does not match means "send the whole thing", which
    // this endpoint never does: treat it as no Range at all.
    let range = range.filter(|_| {
        headers
            .get(header::IF_RANGE)
            .is_none_or(|v| if_range_matches(v.as_bytes(), dump.etag(), dump.last_modified()))
    });
    let Some(range) = range else {
        return Err(ApiError::BadRequest(format!(
            "send a Range header (e.g. Range: bytes=0-1023): the dump is {size} bytes, too big to send whole"
        )));
    };
    let r = parse_range(range.as_bytes(), size, state.config.max_range_bytes)?;
    let mut res = with_dump_bytes(HttpResponse::PartialContent(), state, r.start, r.len())?;
    // Straight into the map: the builder's `insert_header` converts and
    // checks each (name, value) pair first, ~100 instructions a header.
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type(mime::XML));
    let content_range = HeaderValue::try_from(r.content_range(size)).expect("digits and ASCII punctuation");
    headers.insert(header::CONTENT_RANGE, content_range);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    super::content_validators(headers, state);
    headers.insert(header::LAST_MODIFIED, dump.last_modified_header());
    Ok(res)
}
