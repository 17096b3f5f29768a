//! Baselines and operator endpoints: `/json`, `/plaintext`, `/healthz`,
//! `/stats`, `/metrics`, and the JSON 404/405 answers.

use super::{content_type, mime};
use crate::error::ApiError;
use crate::metrics::{prometheus_text, stats_json};
use crate::state::AppState;
use crate::workers::Drain;
use actix_web::{HttpRequest, HttpResponse, web};

/// `GET /json`: TechEmpower's JSON baseline, serialized per request.
pub async fn json() -> HttpResponse {
    json_answer()
}

/// `/json`'s answer: the route's, and [`crate::hot_path`]'s below the App.
pub(crate) fn json_answer() -> HttpResponse {
    #[derive(serde::Serialize)]
    struct Message {
        message: &'static str,
    }
    let body = serde_json::to_vec(&Message { message: "Hello, World!" }).expect("serializes");
    HttpResponse::Ok().content_type(content_type(mime::JSON)).body(body)
}

/// `GET /plaintext`: TechEmpower's plaintext baseline.
pub async fn plaintext() -> HttpResponse {
    plaintext_answer()
}

/// `/plaintext`'s answer: the route's, and [`crate::hot_path`]'s below the
/// App.
pub(crate) fn plaintext_answer() -> HttpResponse {
    HttpResponse::Ok().content_type(content_type(mime::TEXT)).body("Hello, World!")
}

/// `GET /healthz`: 200 while the dump is as indexed and the index sound,
/// 503 otherwise, and 503 `{"status":"draining",…}` once the server drains
/// before stopping ([`crate::workers::Drain`], found in the App's data), so
/// that balancers stop sending here while the listener is still open.
pub async fn healthz(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if req.app_data::<Drain>().is_some_and(Drain::is_on) {
        let mut res = operator();
        res.status(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
        // `error` as in every other refusal, for clients that read only that.
        let body = r#"{"status":"draining","error":"the server is stopping; ask another replica"}"#;
        return Ok(res.content_type(content_type(mime::JSON)).body(body));
    }
    if let Some(damage) = state.damaged.get() {
        return Err(ApiError::Unavailable(damage.clone()));
    }
    state.dump.check()?;
    Ok(operator().content_type(content_type(mime::JSON)).body(r#"{"status":"ok"}"#))
}

/// An operator endpoint's 200: about this process now, so no cache may
/// keep it.
fn operator() -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    res
}

/// `GET /stats`: counters, latency percentiles, index facts, RSS.
pub async fn stats(state: web::Data<AppState>) -> HttpResponse {
    let mut doc = stats_json(
        &state.metrics,
        state.started.elapsed().as_secs_f64(),
        &state.facts,
        state.config.workers,
        &state.storage_facts(),
    );
    doc["top_pages"] = state.top_pages().clone();
    operator().content_type(content_type(mime::JSON)).body(doc.to_string())
}

/// `GET /metrics`: the same in Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let text = prometheus_text(
        &state.metrics,
        state.started.elapsed().as_secs_f64(),
        &state.facts,
        &state.storage_facts(),
    );
    operator().content_type("text/plain; version=0.0.4; charset=utf-8").body(text)
}

/// Any unknown path: a JSON 404.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path: String = req.path().chars().take(200).collect();
    Err(ApiError::NotFound(format!("no such endpoint: {path}")))
}

/// A known path with a method other than GET or HEAD: a JSON 405.
pub async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}
