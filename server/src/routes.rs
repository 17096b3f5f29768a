//! The route table: every path the server answers ([`Route`]), the one
//! classification of a request path ([`Route::of`]), used to dispatch and to
//! count, and [`serve`], through which every request passes.
//!
//! There is one way to serve a route. Requests go from actix-http's
//! dispatcher straight to [`serve`], which checks the method, calls the
//! route's handler, turns a refusal into its JSON answer, times the answer
//! ([`crate::timing`]), marks it to close its connection while the server
//! drains and writes the access-log line. actix-web's `App`, its router and
//! middleware chain are not used: they cost more user-space time than a
//! lookup's own work (docs/BENCHMARKS.md, "One dispatch"). Handlers still
//! answer with actix-web's `HttpResponse`.
//!
//! To add an endpoint: a variant here, its path in [`Route::of`], its
//! metrics group in [`Route::endpoint`], its handler in [`Route::answer`].

use crate::error::ApiError;
use crate::handlers::web::{ASSETS, Asset};
use crate::handlers::{meta, offsets, suggest, wiki, xml};
use crate::metrics::Endpoint;
use crate::state::AppState;
use crate::timing;
use actix_http::body::{BoxBody, MessageBody};
use actix_http::{ConnectionType, HttpMessage, Method, Request, Response};
use actix_web::{HttpResponse, ResponseError};
use std::sync::Arc;
use std::time::Instant;

/// Every endpoint the server answers.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    /// `/offsets/{prefix}`: titles under a prefix with their byte ranges.
    Offsets,
    /// `/wiki/{title}`: one page's XML.
    Wiki,
    /// `/xml` with `Range`: bytes of the dump.
    Xml,
    /// `/json`: the JSON baseline.
    Json,
    /// `/plaintext`: the plaintext baseline.
    Plaintext,
    /// `/healthz`: 200 while the dump and index are sound.
    Healthz,
    /// `/stats`: counters and facts as JSON.
    Stats,
    /// `/metrics`: the same for Prometheus.
    Metrics,
    /// `/opensearch?search=`: MediaWiki's opensearch JSON.
    OpenSearch,
    /// `/suggest?q=`: the short suggestion form.
    Suggest,
    /// `/opensearch.xml`: the OpenSearch description document.
    OpenSearchDescription,
    /// A file of the browser page (`/`, `/app.js`, …).
    Asset(&'static Asset),
    /// Any other path: a JSON 404.
    NotFound,
}

impl Route {
    /// The route of a request `path` (without its query). `/offsets` and
    /// `/wiki` take the rest of the path, which their handlers decode from
    /// the raw URI; every other route is one exact path.
    pub fn of(path: &str) -> Route {
        let under = |segment: &str| {
            path.strip_prefix(segment).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/offsets") {
            return Route::Offsets;
        }
        if under("/wiki") {
            return Route::Wiki;
        }
        match path {
            "/xml" => Route::Xml,
            "/json" => Route::Json,
            "/plaintext" => Route::Plaintext,
            "/healthz" => Route::Healthz,
            "/stats" => Route::Stats,
            "/metrics" => Route::Metrics,
            "/opensearch" => Route::OpenSearch,
            "/suggest" => Route::Suggest,
            "/opensearch.xml" => Route::OpenSearchDescription,
            _ => match ASSETS.iter().find(|asset| asset.path == path) {
                Some(asset) => Route::Asset(asset),
                None => Route::NotFound,
            },
        }
    }

    /// What its answers are counted and timed as; `None` for the
    /// baselines, which measure the HTTP stack alone, as nginx's `return
    /// 200` does: no clock is read and nothing is recorded for them.
    pub fn endpoint(self) -> Option<Endpoint> {
        Some(match self {
            Route::Offsets => Endpoint::Offsets,
            Route::Wiki => Endpoint::Wiki,
            Route::Xml => Endpoint::Xml,
            Route::Json | Route::Plaintext => return None,
            Route::Healthz | Route::Stats | Route::Metrics => Endpoint::Operator,
            Route::OpenSearch | Route::Suggest | Route::OpenSearchDescription => Endpoint::Suggest,
            Route::Asset(_) => Endpoint::Page,
            Route::NotFound => Endpoint::Other,
        })
    }

    /// Its answer to a GET or HEAD `req` (actix-http leaves out the body of
    /// an answer to HEAD).
    fn answer(self, req: &Request, state: &Arc<AppState>) -> Result<HttpResponse, ApiError> {
        match self {
            Route::Offsets => offsets::answer(req.uri(), req.headers(), state),
            Route::Wiki => wiki::answer(req.uri(), req.headers(), state),
            Route::Xml => xml::answer(req.headers(), state),
            Route::Json => Ok(meta::json()),
            Route::Plaintext => Ok(meta::plaintext()),
            Route::Healthz => meta::healthz(state),
            Route::Stats => Ok(meta::stats(state)),
            Route::Metrics => Ok(meta::metrics(state)),
            Route::OpenSearch => suggest::opensearch(req, state),
            Route::Suggest => suggest::short(req, state),
            Route::OpenSearchDescription => Ok(suggest::description(req, state)),
            Route::Asset(asset) => Ok(asset.respond(req.headers())),
            Route::NotFound => Err(not_found(req.path())),
        }
    }
}

/// The 404 for an unknown `path`, quoting at most 200 characters of it.
fn not_found(path: &str) -> ApiError {
    let path: String = path.chars().take(200).collect();
    ApiError::NotFound(format!("no such endpoint: {path}"))
}

/// The answer to `req`: its route's, or the route's refusal as JSON (a
/// known path asked with a method other than GET or HEAD gets 405). Timed
/// and counted as [`Route::endpoint`] says; while the server drains, told to
/// close its connection, checked as the answer leaves, so one that began
/// before the signal and ends during the drain closes too.
pub fn serve(req: &Request, state: &Arc<AppState>) -> Response<BoxBody> {
    let route = Route::of(req.path());
    let timed = route.endpoint().map(|endpoint| (endpoint, Instant::now()));
    let answer = match (route, req.method()) {
        (Route::NotFound, _) | (_, &Method::GET | &Method::HEAD) => route.answer(req, state),
        _ => Err(ApiError::MethodNotAllowed),
    };
    let mut res = Response::from(answer.unwrap_or_else(|refusal| refusal.error_response()));
    if let Some((endpoint, t0)) = timed {
        timing::finish(&state.metrics, endpoint, t0, res.status(), res.headers_mut());
    }
    if state.drain.is_on() {
        res.head_mut().set_connection_type(ConnectionType::Close);
    }
    if state.config.access_log {
        access_log(req, &res);
    }
    res
}

/// One access-log line for `req` answered by `res`, in the shape of
/// actix-web's default `Logger`: peer, request line, status, body bytes,
/// referrer, user agent.
fn access_log(req: &Request, res: &Response<BoxBody>) {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("-");
    let peer = req.peer_addr().map_or_else(|| "-".to_string(), |addr| addr.ip().to_string());
    let bytes = match res.body().size() {
        actix_http::body::BodySize::Sized(n) => n.to_string(),
        _ => "-".to_string(),
    };
    tracing::info!(
        target: "wikidex::access",
        "{peer} \"{} {} {:?}\" {} {bytes} \"{}\" \"{}\"",
        req.method(),
        req.uri(),
        req.version(),
        res.status().as_u16(),
        header(actix_http::header::REFERER),
        header(actix_http::header::USER_AGENT),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_routes() {
        let name = |path: &str| format!("{:?}", Route::of(path));
        for (path, route) in [
            ("/offsets", "Offsets"),
            ("/offsets/", "Offsets"),
            ("/offsets/AC/DC", "Offsets"),
            ("/wiki/Foo", "Wiki"),
            ("/xml", "Xml"),
            ("/plaintext", "Plaintext"),
            ("/json", "Json"),
            ("/opensearch.xml", "OpenSearchDescription"),
            ("/offsetsX", "NotFound"),
            ("/wikipedia", "NotFound"),
            ("/xml/", "NotFound"),
            ("//plaintext", "NotFound"),
            ("/json/x", "NotFound"),
            ("/index.html", "NotFound"),
        ] {
            assert_eq!(name(path), route, "{path}");
        }
        assert!(name("/").starts_with("Asset"));
    }

    #[test]
    fn every_route_is_counted_as_its_endpoint() {
        let of = |path: &str| Route::of(path).endpoint();
        assert_eq!(of("/offsets/Foo"), Some(Endpoint::Offsets));
        assert_eq!(of("/wiki/AC/DC"), Some(Endpoint::Wiki));
        assert_eq!(of("/suggest"), Some(Endpoint::Suggest));
        assert_eq!(of("/healthz"), Some(Endpoint::Operator));
        assert_eq!(of("/nope"), Some(Endpoint::Other));
        assert_eq!(of("/plaintext"), None);
        assert_eq!(of("/json"), None);
        for asset in ASSETS {
            assert_eq!(of(asset.path), Some(Endpoint::Page), "{}", asset.path);
        }
    }

    /// A server state over a copy of the bundled sample, in its directory.
    fn sample_state() -> (tempfile::TempDir, Arc<AppState>) {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("d.xml");
        std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/sample.xml"), &dump).unwrap();
        let index = dir.path().join("d.xml.wikidex");
        wikidex_indexer::Builder::new(&dump, &index).build().unwrap();
        let state = AppState::load(crate::Config::new(&index, &dump)).unwrap();
        (dir, Arc::new(state))
    }

    /// [`sample_state`], built once and shared by the tests that do not
    /// change it.
    fn sample() -> &'static Arc<AppState> {
        static STATE: std::sync::OnceLock<(tempfile::TempDir, Arc<AppState>)> = std::sync::OnceLock::new();
        &STATE.get_or_init(sample_state).1
    }

    fn ask(method: Method, uri: &str, headers: &[(&'static str, &str)]) -> Response<BoxBody> {
        let mut req = actix_http::test::TestRequest::with_uri(uri);
        req.method(method);
        for &(name, value) in headers {
            req.insert_header((name, value));
        }
        serve(&req.finish(), sample())
    }

    async fn body(res: Response<BoxBody>) -> Vec<u8> {
        actix_http::body::to_bytes(res.into_body()).await.unwrap().to_vec()
    }

    #[actix_web::test]
    async fn refusals_are_json_and_only_lookups_are_timed() {
        let res = ask(Method::POST, "/offsets/A", &[]);
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers().get("allow").unwrap(), "GET, HEAD");
        assert!(res.headers().get("server-timing").is_some(), "a refused lookup is still timed");
        assert!(body(res).await.starts_with(br#"{"error":"#));
        let res = ask(Method::DELETE, "/nope", &[]);
        assert_eq!(res.status(), 404, "an unknown path is a 404 whatever the method");
        assert_eq!(res.headers().get("content-type").unwrap(), "application/json");
        let res = ask(Method::GET, "/offsets/A?limit=x", &[]);
        assert_eq!(res.status(), 400);
        assert!(res.headers().get("server-timing").is_some());
        let res = ask(Method::GET, "/offsets/A?limit=1", &[]);
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("server-timing").is_some());
        for baseline in ["/plaintext", "/json"] {
            let res = ask(Method::GET, baseline, &[]);
            assert_eq!(res.status(), 200, "{baseline}");
            assert!(res.headers().get("server-timing").is_none(), "{baseline} is untimed");
        }
        let (requests, errors, _) = sample().metrics.snapshot(Endpoint::Offsets);
        assert!(requests >= 3 && errors >= 2, "{requests} requests, {errors} errors");
    }

    #[actix_web::test]
    async fn every_asset_is_served_with_its_tag_and_304() {
        for asset in ASSETS {
            let res = ask(Method::GET, asset.path, &[]);
            assert_eq!(res.status(), 200, "{}", asset.path);
            assert_eq!(res.headers().get("etag").unwrap(), asset.etag);
            assert_eq!(res.headers().get("cache-control").unwrap(), "no-cache");
            assert_eq!(res.headers().get("content-type").unwrap(), asset.content_type);
            assert_eq!(body(res).await, asset.body, "{}", asset.path);
            let res = ask(Method::GET, asset.path, &[("if-none-match", asset.etag)]);
            assert_eq!(res.status(), 304, "{}", asset.path);
            assert_eq!(res.headers().get("etag").unwrap(), asset.etag);
            assert!(body(res).await.is_empty());
        }
    }

    #[actix_web::test]
    async fn a_draining_server_closes_every_connection() {
        // A state of its own: the drain never ends.
        let (_dir, state) = sample_state();
        let req = || actix_http::test::TestRequest::with_uri("/plaintext").finish();
        assert_ne!(serve(&req(), &state).head().connection_type(), ConnectionType::Close);
        state.drain.start();
        assert_eq!(serve(&req(), &state).head().connection_type(), ConnectionType::Close);
        let health = serve(&actix_http::test::TestRequest::with_uri("/healthz").finish(), &state);
        assert_eq!(health.status(), 503);
    }
}
