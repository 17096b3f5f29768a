//! `GET /xml` with `Range: bytes=…`: bytes of the dump (RFC 9110 ranges,
//! one range per request, with `ETag`/`Last-Modified` and `If-Range`).

use super::dump_range_body;
use super::wiki::XML;
use crate::error::ApiError;
use crate::range::{RangeError, if_range_matches, parse_range};
use crate::state::AppState;
use actix_web::http::header;
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
    let body = dump_range_body(&state, r.start, r.len())?;
    let mut res = HttpResponse::PartialContent()
        .insert_header((header::CONTENT_TYPE, XML))
        .insert_header((header::CONTENT_RANGE, r.content_range(size)))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::ETAG, state.dump.etag_header()))
        .insert_header((header::LAST_MODIFIED, state.dump.last_modified_header()))
        .body(body);
    // Sent with sendfile(2) by the HTTP/1 dispatcher (vendor/actix-http).
    res.extensions_mut().insert(state.dump.send_file_range(r.start, r.len()));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use crate::{AppState, Config, configure};
    use actix_web::{App, http::header, test as actix_test, web};

    /// In process there is no socket, so the dispatcher's sendfile path is
    /// not taken: the body must then stream the same bytes by itself.
    #[test]
    fn without_sendfile_the_body_streams_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("d.xml");
        std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/sample.xml"), &dump).unwrap();
        let index = dir.path().join("d.xml.wikidex");
        wikidex_indexer::Builder::new(&dump, &index).build().unwrap();
        let xml = std::fs::read(&dump).unwrap();
        let state = web::Data::new(AppState::load(Config::new(&index, &dump)).unwrap());
        actix_web::rt::System::new().block_on(async move {
            let app = actix_test::init_service(App::new().app_data(state).configure(configure)).await;
            // One read's worth, and a range spanning several reads.
            for (start, end) in [(5usize, 4100usize), (1000, 1000 + 600_000)] {
                let req = actix_test::TestRequest::get()
                    .uri("/xml")
                    .insert_header((header::RANGE, format!("bytes={start}-{end}")))
                    .to_request();
                let res = actix_test::call_service(&app, req).await;
                assert_eq!(res.status(), 206);
                let range = res.response().extensions().get::<actix_http::h1::SendFileRange>().cloned();
                let range = range.expect("the response names its file range");
                assert_eq!((range.offset, range.len), (start as u64, (end - start + 1) as u64));
                let body = actix_test::read_body(res).await;
                assert!(body[..] == xml[start..=end], "{start}-{end}: the streamed body differs");
            }
        });
    }
}
