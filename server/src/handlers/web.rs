//! The browser page from `web/`, embedded in the binary at build time so the
//! server needs no files besides the index and the dump.
//!
//! Each file is an [`Asset`] of [`ASSETS`] with a strong `ETag` of its bytes,
//! computed at compile time. Answers say `Cache-Control: no-cache` (the
//! binary, and so the page, may change under the same URL), and a request
//! whose `If-None-Match` names the current tag gets `304 Not Modified`: a
//! reload costs one round trip per file and no bytes.

use super::none_match;
use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderMap, HeaderValue};

/// One embedded file.
pub struct Asset {
    /// The path it is served at.
    pub path: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
    /// Its content type.
    pub content_type: &'static str,
    /// Its strong entity tag, quotes included: a hash of `body`.
    pub etag: &'static str,
}

impl std::fmt::Debug for Asset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asset").field("path", &self.path).finish_non_exhaustive()
    }
}

/// 128-bit FNV-1a of `bytes` as a quoted entity tag: 32 hex digits. Not a
/// cryptographic hash; it only has to change when a file does.
const fn etag_of(bytes: &[u8]) -> [u8; 34] {
    let mut hash: u128 = 0x6c62272e07bb014262b821756295c58d;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u128;
        hash = hash.wrapping_mul(0x0000000001000000000000000000013B);
        i += 1;
    }
    let mut tag = [b'"'; 34];
    let mut k = 0;
    while k < 32 {
        let nibble = ((hash >> (124 - 4 * k)) & 0xf) as u8;
        tag[1 + k] = if nibble < 10 { b'0' + nibble } else { b'a' + nibble - 10 };
        k += 1;
    }
    tag
}

/// Reads hex digits and quotes, which are ASCII, as a `str` in a const.
const fn ascii(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("an entity tag is ASCII"),
    }
}

macro_rules! asset {
    ($path:literal, $file:literal, $content_type:literal) => {{
        const BODY: &[u8] = include_bytes!(concat!("../../../web/", $file));
        const TAG: &[u8; 34] = &etag_of(BODY);
        Asset { path: $path, body: BODY, content_type: $content_type, etag: ascii(TAG) }
    }};
}

/// `web/index.html`.
pub const INDEX_HTML: Asset = asset!("/", "index.html", "text/html; charset=utf-8");
/// `web/app.js`: the page's controller, an ES module.
pub const APP_JS: Asset = asset!("/app.js", "app.js", "text/javascript; charset=utf-8");
/// `web/wikitext.js`: the wikitext renderer, an ES module `app.js` imports.
pub const WIKITEXT_JS: Asset = asset!("/wikitext.js", "wikitext.js", "text/javascript; charset=utf-8");
/// `web/style.css`.
pub const STYLE_CSS: Asset = asset!("/style.css", "style.css", "text/css; charset=utf-8");

/// Every file of the page; [`crate::routes::Route::of`] serves each at its path.
pub const ASSETS: [&Asset; 4] = [&INDEX_HTML, &APP_JS, &WIKITEXT_JS, &STYLE_CSS];

impl Asset {
    /// The answer to a GET or HEAD of it with these request `headers`: the
    /// file, or 304 when the client already has this version.
    pub fn respond(&self, headers: &HeaderMap) -> HttpResponse {
        let etag = HeaderValue::from_static(self.etag);
        let cache = HeaderValue::from_static("no-cache");
        let values = headers.get_all(header::IF_NONE_MATCH).map(HeaderValue::as_bytes);
        if none_match(values, self.etag) {
            return HttpResponse::NotModified()
                .insert_header((header::ETAG, etag))
                .insert_header((header::CACHE_CONTROL, cache))
                .finish();
        }
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(self.content_type)))
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .body(self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_quoted_hex_distinct_and_follow_the_bytes() {
        for asset in ASSETS {
            assert_eq!(asset.etag.len(), 34, "{}", asset.path);
            assert!(asset.etag.starts_with('"') && asset.etag.ends_with('"'), "{}", asset.etag);
            assert!(asset.etag[1..33].bytes().all(|b| b.is_ascii_hexdigit()), "{}", asset.etag);
            assert_eq!(asset.etag.as_bytes(), etag_of(asset.body), "{}: the tag is of its bytes", asset.path);
        }
        let mut tags: Vec<_> = ASSETS.iter().map(|a| a.etag).collect();
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len(), "different files, different tags");
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
        assert_ne!(etag_of(b""), etag_of(b"\0"));
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let tag = r#""00ff""#;
        let yes: [&[u8]; 5] = [br#""00ff""#, br#"W/"00ff""#, br#""x", "00ff""#, b"*", br#" "x" ,W/"00ff" "#];
        for value in yes {
            assert!(none_match([value], tag), "{}", String::from_utf8_lossy(value));
        }
        let no: [&[u8]; 5] = [br#""00fe""#, b"00ff", br#""00ff"#, b"", br#"W/"x""#];
        for value in no {
            assert!(!none_match([value], tag), "{}", String::from_utf8_lossy(value));
        }
        assert!(none_match([&br#""x""#[..], &br#""00ff""#[..]], tag), "any of several field lines");
    }

    /// Every file the page asks for is one we serve, so adding a file to
    /// `web/` without serving it fails here, not in a user's browser.
    #[test]
    fn the_page_asks_only_for_served_files() {
        let served: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
        let html = std::str::from_utf8(INDEX_HTML.body).unwrap();
        let mut asked = Vec::new();
        for attr in ["src=\"", "href=\""] {
            for part in html.split(attr).skip(1) {
                let url = &part[..part.find('"').unwrap()];
                if url.ends_with(".js") || url.ends_with(".css") {
                    asked.push(url.to_string());
                }
            }
        }
        let app = std::str::from_utf8(APP_JS.body).unwrap();
        for line in app.lines().filter(|l| l.starts_with("import ")) {
            let module = line.rsplit(['\'', '"']).nth(1).unwrap();
            asked.push(module.trim_start_matches('.').to_string());
        }
        for url in ["/app.js", "/style.css", "/wikitext.js"] {
            assert!(asked.iter().any(|a| a == url), "the page no longer loads {url}: {asked:?}");
        }
        for url in &asked {
            assert!(served.contains(&url.as_str()), "the page loads {url}, which is not served");
        }
    }
}
