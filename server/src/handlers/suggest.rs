//! Search-engine integration: `GET /opensearch` (MediaWiki's
//! `action=opensearch` JSON), `GET /suggest?q=` (the short
//! `[query, [titles]]` form) and `GET /opensearch.xml` (the OpenSearch
//! description a browser installs).

use crate::error::ApiError;
use crate::handlers::offsets::{MatchMode, OffsetsQuery, parse_namespaces, parse_redirects, titles};
use crate::request::{encode_title, parse_query, single};
use crate::state::AppState;
use crate::title::first_letter_variant;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

/// Titles for a suggestion query: folded (case- and accent-insensitive)
/// prefix matches first, then typo-tolerant ones, as `/offsets?match=fuzzy`;
/// a namespace prefix (`Talk:Fo`) searches that namespace, otherwise only
/// `namespaces`. Falls back to exact prefixes on an index without folded
/// titles.
pub fn suggest(
    state: &AppState,
    search: &str,
    limit: usize,
    namespaces: &[i32],
    resolve: bool,
) -> Result<Vec<String>, ApiError> {
    let prefix = search.replace('_', " ");
    if prefix.trim().is_empty() {
        return Ok(Vec::new());
    }
    let site = &state.index.manifest().site;
    let explicit_ns = prefix.split_once(':').and_then(|(ns, _)| site.namespace_named(ns)).map(|ns| ns.key);
    let mode = if state.index.has_folded() { MatchMode::Fuzzy } else { MatchMode::Exact };
    let prefix = match mode {
        MatchMode::Exact => first_letter_variant(site, &prefix).unwrap_or(prefix),
        _ => prefix,
    };
    let q = OffsetsQuery {
        prefix,
        limit,
        after: None,
        fields: Vec::new(),
        mode,
        namespaces: Some(explicit_ns.map_or_else(|| namespaces.to_vec(), |k| vec![k])),
        resolve,
    };
    titles(state, &q)
}

fn parse_limit(value: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => crate::handlers::offsets::parse_limit(v, max),
    }
}

/// `GET /opensearch?search=…&limit=…&namespace=…`:
/// `[query, [titles], [descriptions], [urls]]` exactly like MediaWiki's
/// `action=opensearch&format=json` (descriptions are empty strings there too).
pub async fn opensearch(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let query = parse_query(req.query_string())?;
    let search = single(&query, "search")?.unwrap_or("").to_string();
    let limit = parse_limit(single(&query, "limit")?, 10, 100)?;
    let namespaces = match single(&query, "namespace")? {
        None | Some("") => vec![0],
        Some(v) => parse_namespaces(v)?,
    };
    let resolve = parse_redirects(single(&query, "redirects")?)?;
    let found = suggest(&state, &search, limit, &namespaces, resolve)?;
    let base = base_url(&req);
    let urls: Vec<String> =
        found.iter().map(|t| format!("{base}/wiki/{}", encode_title(&t.replace(' ', "_")))).collect();
    let descriptions = vec![""; found.len()];
    let body = serde_json::json!([search, found, descriptions, urls]).to_string();
    Ok(HttpResponse::Ok().content_type("application/x-suggestions+json; charset=utf-8").body(body))
}

/// `GET /suggest?q=…[&limit=…]`: `[query, [titles]]`.
pub async fn short(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let query = parse_query(req.query_string())?;
    let q = single(&query, "q")?.unwrap_or("").to_string();
    let limit = parse_limit(single(&query, "limit")?, 10, 100)?;
    let found = suggest(&state, &q, limit, &[0], false)?;
    Ok(HttpResponse::Ok()
        .content_type(super::content_type(super::mime::JSON))
        .body(serde_json::json!([q, found]).to_string()))
}

/// `GET /opensearch.xml`: the OpenSearch 1.1 description document.
pub async fn description(req: HttpRequest) -> HttpResponse {
    let base = xml_escape(&base_url(&req));
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/" xmlns:moz="http://www.mozilla.org/2006/browser/search/">
  <ShortName>wikidex</ShortName>
  <Description>Look up Wikipedia titles in a local dump</Description>
  <InputEncoding>UTF-8</InputEncoding>
  <Url type="text/html" method="get" template="{base}/?q={{searchTerms}}"/>
  <Url type="application/x-suggestions+json" method="get" template="{base}/opensearch?search={{searchTerms}}&amp;namespace=0"/>
  <moz:SearchForm>{base}/</moz:SearchForm>
</OpenSearchDescription>
"#
    );
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/opensearchdescription+xml"))
        .body(body)
}

/// `scheme://host` of this request, as the client addressed us.
fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
