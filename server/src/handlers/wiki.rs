//! `GET /wiki/{title}[?redirect=no]`: one page's XML fragment, by exact
//! title, following redirects.

use super::{path_rest, with_page};
use crate::error::ApiError;
use crate::mime::{self, content_type};
use crate::request::{decode_path_title, encode_title, parse_query, single};
use crate::state::AppState;
use crate::title::first_letter_variant;
use actix_web::HttpResponse;
use actix_web::http::header::HeaderMap;
use actix_web::http::{Uri, header};
use std::sync::Arc;
use wikidex_indexer::{Index, Page, Redirect};

/// Redirect hops followed before giving up with 508.
pub const MAX_HOPS: usize = 5;

/// The outcome of resolving a requested title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The page to serve.
    pub page: Page,
    /// The title looked up (after normalization), if a redirect was followed.
    pub redirected_from: Option<String>,
}

/// Finds the page for `title`: exact match, else MediaWiki's first-letter
/// variant; then follows redirects unless `follow` is false.
pub fn resolve(index: &Index, title: &str, follow: bool) -> Result<Resolved, ApiError> {
    let mut looked_up = title.to_string();
    let mut rows = index.rows_of(title.as_bytes());
    if rows.is_empty()
        && let Some(variant) = first_letter_variant(&index.manifest().site, title)
    {
        rows = index.rows_of(variant.as_bytes());
        looked_up = variant;
    }
    if rows.is_empty() {
        return Err(ApiError::NotFound(format!("no page titled {title:?}")));
    }
    let mut page = index.page(rows.start);
    if !follow || page.redirect == Redirect::None {
        return Ok(Resolved { page, redirected_from: None });
    }
    let mut seen = vec![page.row];
    loop {
        match page.redirect {
            Redirect::None => return Ok(Resolved { page, redirected_from: Some(looked_up) }),
            Redirect::Missing => {
                return Err(ApiError::NotFound(format!(
                    "{looked_up:?} redirects to a page that is not in the dump"
                )));
            }
            Redirect::To(row) => {
                if seen.contains(&row) {
                    return Err(ApiError::LoopDetected(format!(
                        "the redirects from {looked_up:?} form a loop"
                    )));
                }
                if seen.len() > MAX_HOPS {
                    return Err(ApiError::LoopDetected(format!(
                        "the redirects from {looked_up:?} go on for more than {MAX_HOPS} hops"
                    )));
                }
                seen.push(row);
                page = index.page(row);
            }
        }
    }
}

/// The answer to a GET or HEAD of `uri` (`/wiki/{title}[?redirect=no]`).
pub(crate) fn answer(
    uri: &Uri,
    headers: &HeaderMap,
    state: &Arc<AppState>,
) -> Result<HttpResponse, ApiError> {
    let title = decode_path_title(path_rest(uri, "/wiki"))?;
    if title.is_empty() {
        return Err(ApiError::BadRequest("empty title: ask for /wiki/{title}, e.g. /wiki/Anarchism".into()));
    }
    let query = parse_query(uri.query().unwrap_or(""))?;
    let follow = single(&query, "redirect")? != Some("no");
    let resolved = resolve(&state.index, &title, follow)?;
    if let Some(res) = super::not_modified(headers, state) {
        return Ok(res);
    }
    let page = resolved.page;
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, content_type(mime::XML)));
    if let Some(from) = resolved.redirected_from {
        res.insert_header(("X-Redirected-From", encode_title(&from)));
    }
    let mut res = with_page(res, state, page.start, page.len())?;
    super::content_validators(res.headers_mut(), state);
    Ok(res)
}
