//! The route table, used by [`crate::run`] and by tests alike.

use crate::handlers::{meta, offsets, suggest, web as page, wiki, xml};
use actix_web::http::Method;
use actix_web::{Route, guard, web};

/// A route answering GET and HEAD (actix omits HEAD bodies itself). A plain
/// method test: actix's `guard::Get()` also records every method it is asked
/// about in the request's extensions (a `Vec` and a map insert per request)
/// for an `Allow` header we do not send, a measurable share of /plaintext
/// (`docs/BENCHMARKS.md`, "Other changes measured": route guards).
fn get_or_head() -> Route {
    web::route().guard(guard::fn_guard(|ctx| matches!(ctx.head().method, Method::GET | Method::HEAD)))
}

/// Registers every endpoint; unknown paths get a JSON 404 and other methods
/// on known paths a JSON 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let resource =
        |path: &str| web::resource(path.to_string()).default_service(web::to(meta::method_not_allowed));
    // `/offsets/…` and `/wiki/…` take the rest of the path, which their
    // handlers decode from the raw URI: a prefix scope routes them without
    // the regex a `{tail:.*}` pattern costs on every request.
    cfg.service(web::scope("/offsets").default_service(web::to(offsets::offsets)))
        .service(web::scope("/wiki").default_service(web::to(wiki::wiki)))
        .service(resource("/xml").route(get_or_head().to(xml::xml)))
        .service(resource("/json").route(get_or_head().to(meta::json)))
        .service(resource("/plaintext").route(get_or_head().to(meta::plaintext)))
        .service(resource("/healthz").route(get_or_head().to(meta::healthz)))
        .service(resource("/stats").route(get_or_head().to(meta::stats)))
        .service(resource("/metrics").route(get_or_head().to(meta::metrics)))
        .service(resource("/opensearch").route(get_or_head().to(suggest::opensearch)))
        .service(resource("/suggest").route(get_or_head().to(suggest::short)))
        .service(resource("/opensearch.xml").route(get_or_head().to(suggest::description)))
        .service(resource("/").route(get_or_head().to(page::index)))
        .service(resource("/app.js").route(get_or_head().to(page::app_js)))
        .service(resource("/wikitext.js").route(get_or_head().to(page::wikitext_js)))
        .service(resource("/style.css").route(get_or_head().to(page::style_css)))
        .default_service(web::to(meta::not_found));
}
