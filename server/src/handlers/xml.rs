//! `GET /xml` with `Range: bytes=…`: bytes of the dump (RFC 9110 ranges,
//! one range per request, with `ETag`/`Last-Modified` and `If-Range`).

use super::{content_type, mime, with_dump_bytes};
use crate::error::ApiError;
use crate::range::{RangeError, if_range_matches, parse_range};
use crate::state::AppState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

/// The handler.
pub async fn xml(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let dump = &state.dump;
    let size = dump.size();
    let mut ranges = req.headers().get_all(header::RANGE);
    let range = ranges.next();
    if ranges.next().is_some() {
        return Err(RangeError::MultipleRanges { size }.into());
    }
    // An If-Range that does not match means "send the whole thing", which
    // this endpoint never does: treat it as no Range at all.
    let range = range.filter(|_| {
        req.headers()
            .get(header::IF_RANGE)
            .is_none_or(|v| if_range_matches(v.as_bytes(), dump.etag(), dump.last_modified()))
    });
    let Some(range) = range else {
        return Err(ApiError::BadRequest(format!(
            "send a Range header (e.g. Range: bytes=0-1023): the dump is {size} bytes, too big to send whole"
        )));
    };
    let r = parse_range(range.as_bytes(), size, state.config.max_range_bytes)?;
    let state = state.into_inner();
    let mut res = HttpResponse::PartialContent();
    res.insert_header((header::CONTENT_TYPE, content_type(mime::XML)))
        .insert_header((header::CONTENT_RANGE, r.content_range(size)))
        .insert_header((header::ACCEPT_RANGES, HeaderValue::from_static("bytes")))
        .insert_header((header::ETAG, state.dump.etag_header()))
        .insert_header((header::LAST_MODIFIED, state.dump.last_modified_header()));
    with_dump_bytes(res, &state, r.start, r.len())
}
