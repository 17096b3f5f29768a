//! Search-engine integration: `GET /opensearch` (MediaWiki's
//! `action=opensearch` JSON), `GET /suggest?q=` (the short
//! `[query, [titles]]` form) and `GET /opensearch.xml` (the OpenSearch
//! description a browser installs).

use crate::error::ApiError;
use crate::request::{encode_title, parse_query, single};
use crate::state::AppState;
use crate::title::first_letter_variant;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

/// Rows examined per request at most, so a namespace filter over a huge
/// prefix cannot turn into a slow request.
const SCAN_BUDGET: usize = 20_000;

/// Titles for a suggestion query, MediaWiki-style: the search text's first
/// letter follows the wiki's case rule, a namespace prefix (`Talk:Fo`)
/// searches that namespace, and otherwise only `namespaces` are listed.
pub fn suggest(state: &AppState, search: &str, limit: usize, namespaces: &[i32]) -> Vec<String> {
    let search = search.replace('_', " ");
    if search.trim().is_empty() {
        return Vec::new();
    }
    let site = &state.index.manifest().site;
    let prefix = first_letter_variant(site, &search).unwrap_or(search);
    let explicit_ns = prefix.split_once(':').and_then(|(ns, _)| site.namespace_named(ns)).map(|ns| ns.key);
    let allowed = |ns: i32| match explicit_ns {
        Some(k) => ns == k,
        None => namespaces.contains(&ns),
    };
    let index = &state.index;
    let mut rows = index.prefix(prefix.as_bytes(), None);
    let mut title = Vec::new();
    let mut out = Vec::new();
    let mut examined = 0;
    while let Some(range) = rows.next_title(&mut title) {
        examined += range.len();
        if allowed(index.page(range.start).ns) {
            out.push(String::from_utf8_lossy(&title).into_owned());
            if out.len() == limit {
                break;
            }
        }
        if examined >= SCAN_BUDGET {
            break;
        }
    }
    out
}

fn parse_limit(value: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => crate::handlers::offsets::parse_limit(v, max),
    }
}

fn parse_namespaces(value: Option<&str>) -> Result<Vec<i32>, ApiError> {
    match value {
        None | Some("") => Ok(vec![0]),
        Some(v) => v
            .split(['|', ','])
            .map(|n| {
                n.trim().parse().map_err(|_| {
                    ApiError::BadRequest(format!("namespace must be numbers separated by | or , got {v:?}"))
                })
            })
            .collect(),
    }
}

/// `GET /opensearch?search=…&limit=…&namespace=…`:
/// `[query, [titles], [descriptions], [urls]]` exactly like MediaWiki's
/// `action=opensearch&format=json` (descriptions are empty strings there too).
pub async fn opensearch(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let query = parse_query(req.query_string())?;
    let search = single(&query, "search")?.unwrap_or("").to_string();
    let limit = parse_limit(single(&query, "limit")?, 10, 100)?;
    let namespaces = parse_namespaces(single(&query, "namespace")?)?;
    let titles = suggest(&state, &search, limit, &namespaces);
    let base = base_url(&req);
    let urls: Vec<String> =
        titles.iter().map(|t| format!("{base}/wiki/{}", encode_title(&t.replace(' ', "_")))).collect();
    let descriptions = vec![""; titles.len()];
    let body = serde_json::json!([search, titles, descriptions, urls]).to_string();
    Ok(HttpResponse::Ok().content_type("application/x-suggestions+json; charset=utf-8").body(body))
}

/// `GET /suggest?q=…[&limit=…]`: `[query, [titles]]`.
pub async fn short(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let query = parse_query(req.query_string())?;
    let q = single(&query, "q")?.unwrap_or("").to_string();
    let limit = parse_limit(single(&query, "limit")?, 10, 100)?;
    let titles = suggest(&state, &q, limit, &[0]);
    Ok(HttpResponse::Ok().content_type("application/json").body(serde_json::json!([q, titles]).to_string()))
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
