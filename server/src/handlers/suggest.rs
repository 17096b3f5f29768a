//! Search-engine integration: `GET /opensearch` (MediaWiki's
//! `action=opensearch` JSON), `GET /suggest?q=` (the short
//! `[query, [titles]]` form) and `GET /opensearch.xml` (the OpenSearch
//! description a browser installs).

use crate::error::ApiError;
use crate::handlers::offsets::{
    MatchMode, OffsetsQuery, Order, page_score, parse_namespaces, parse_redirects, titles,
};
use crate::request::{encode_title, parse_query, single};
use crate::state::AppState;
use crate::title::first_letter_variant;
use actix_http::{HttpMessage, Request};
use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderMap};

/// Titles for a suggestion query, most linked first, one per page (a
/// redirect and its target are one suggestion): exact-prefix matches,
/// then folded (case- and accent-insensitive) ones, then typo-tolerant
/// ones, each group by score, as `/offsets?match=fuzzy&order=rank`. As
/// MediaWiki, the text is searched in each of `namespaces` (`Foo b` in
/// namespace 14 is `Category:Foo b`), unless it names a namespace itself
/// (`Talk:Fo`), which is then the only one searched. Falls back to exact
/// prefixes on an index without folded titles.
pub fn suggest(
    state: &AppState,
    search: &str,
    limit: usize,
    namespaces: &[i32],
    resolve: bool,
) -> Result<Vec<String>, ApiError> {
    let text = search.replace('_', " ");
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let site = &state.index.manifest().site;
    let explicit_ns = text.split_once(':').and_then(|(ns, _)| site.namespace_named(ns)).map(|ns| ns.key);
    let searches: Vec<(String, i32)> = match explicit_ns {
        Some(key) => vec![(text, key)],
        None => namespaces
            .iter()
            .filter_map(|&key| match site.namespace(key) {
                Some(ns) if !ns.name.is_empty() => Some((format!("{}:{text}", ns.name), key)),
                Some(_) => Some((text.clone(), key)),
                // A dump without <siteinfo> namespaces: the main one.
                None if key == 0 => Some((text.clone(), key)),
                None => None,
            })
            .collect(),
    };
    let mode = if state.index.has_folded() { MatchMode::Fuzzy } else { MatchMode::Exact };
    let mut found = Vec::new();
    for (prefix, key) in &searches {
        let prefix = match mode {
            MatchMode::Exact => first_letter_variant(site, prefix).unwrap_or_else(|| prefix.clone()),
            _ => prefix.clone(),
        };
        let q = OffsetsQuery {
            prefix,
            limit,
            after: None,
            fields: Vec::new(),
            mode,
            order: Order::Rank,
            namespaces: Some(vec![*key]),
            resolve,
            distinct: true,
        };
        found.extend(titles(state, &q)?);
    }
    if searches.len() > 1 {
        // Several namespaces: one ranking across them.
        let index = &state.index;
        let score = |t: &String| {
            let rows = index.rows_of(t.as_bytes());
            if rows.is_empty() { 0 } else { page_score(index, rows.start) }
        };
        found.sort_by(|a, b| score(b).cmp(&score(a)).then_with(|| a.cmp(b)));
        found.dedup();
        found.truncate(limit);
    }
    Ok(found)
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
pub fn opensearch(req: &Request, state: &AppState) -> Result<HttpResponse, ApiError> {
    let query = parse_query(req.uri().query().unwrap_or(""))?;
    let search = single(&query, "search")?.unwrap_or("").to_string();
    let limit = parse_limit(single(&query, "limit")?, 10, 100)?;
    let namespaces = match single(&query, "namespace")? {
        None | Some("") => vec![0],
        Some(v) => parse_namespaces(v)?,
    };
    let resolve = parse_redirects(single(&query, "redirects")?)?;
    if let Some(res) = super::not_modified(req.headers(), state) {
        return Ok(res);
    }
    let found = suggest(state, &search, limit, &namespaces, resolve)?;
    let base = base_url(req.headers(), state);
    let urls: Vec<String> =
        found.iter().map(|t| format!("{base}/wiki/{}", encode_title(&t.replace(' ', "_")))).collect();
    let descriptions = vec![""; found.len()];
    let body = serde_json::json!([search, found, descriptions, urls]).to_string();
    let mut res = HttpResponse::Ok().content_type("application/x-suggestions+json; charset=utf-8").body(body);
    super::content_validators(res.headers_mut(), state);
    Ok(res)
}

/// `GET /suggest?q=…[&limit=…]`: `[query, [titles]]`.
pub fn short(req: &Request, state: &AppState) -> Result<HttpResponse, ApiError> {
    let query = parse_query(req.uri().query().unwrap_or(""))?;
    let q = single(&query, "q")?.unwrap_or("").to_string();
    let limit = parse_limit(single(&query, "limit")?, 10, 100)?;
    if let Some(res) = super::not_modified(req.headers(), state) {
        return Ok(res);
    }
    let found = suggest(state, &q, limit, &[0], false)?;
    let mut res = HttpResponse::Ok()
        .content_type(crate::mime::content_type(crate::mime::JSON))
        .body(serde_json::json!([q, found]).to_string());
    super::content_validators(res.headers_mut(), state);
    Ok(res)
}

/// `GET /opensearch.xml`: the OpenSearch 1.1 description document.
pub fn description(req: &Request, state: &AppState) -> HttpResponse {
    let base = xml_escape(&base_url(req.headers(), state));
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
    // The URLs in it come from the request's host headers (a cache keys on
    // `Host` anyway), and the binary can change under the same URL: caches
    // keep one copy per proxy addressing and revalidate it by its tag.
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(body.as_bytes()));
    let unchanged =
        super::none_match(req.headers().get_all(header::IF_NONE_MATCH).map(|v| v.as_bytes()), &etag);
    let mut res = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::VARY, "Forwarded, X-Forwarded-Proto, X-Forwarded-Host"));
    if unchanged {
        return res.finish();
    }
    res.insert_header((header::CONTENT_TYPE, "application/opensearchdescription+xml")).body(body)
}

/// `scheme://host` of this request as the client addressed us: behind a
/// proxy, as it says (`Forwarded`, then `X-Forwarded-Proto`/`-Host`), else
/// the `Host` header, else the address the server listens on.
fn base_url(headers: &HeaderMap, state: &AppState) -> String {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    // `Forwarded: for=…;proto=https;host=example.org` (RFC 7239), first hop.
    let forwarded = |key: &str| {
        let first = text(header::FORWARDED)?.split(',').next()?;
        first.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            k.eq_ignore_ascii_case(key).then(|| v.trim_matches('"'))
        })
    };
    let first = |name| text(name).and_then(|v| v.split(',').next()).map(str::trim);
    let scheme = forwarded("proto").or_else(|| first(header::HeaderName::from_static("x-forwarded-proto")));
    let host = forwarded("host")
        .or_else(|| first(header::HeaderName::from_static("x-forwarded-host")))
        .or_else(|| text(header::HOST));
    let listening;
    let host = match host {
        Some(host) => host,
        None => {
            listening = state.config.bind.to_string();
            &listening
        }
    };
    format!("{}://{host}", scheme.unwrap_or("http"))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
