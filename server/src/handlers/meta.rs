//! Baselines and operator endpoints: `/json`, `/plaintext`, `/healthz`,
//! `/stats`, `/metrics`.

use crate::error::ApiError;
use crate::metrics::{prometheus_text, stats_json};
use crate::mime::{self, content_type};
use crate::state::AppState;
use actix_web::HttpResponse;

/// `GET /json`: TechEmpower's JSON baseline, serialized per request.
pub fn json() -> HttpResponse {
    #[derive(serde::Serialize)]
    struct Message {
        message: &'static str,
    }
    let body = serde_json::to_vec(&Message { message: "Hello, World!" }).expect("serializes");
    HttpResponse::Ok().content_type(content_type(mime::JSON)).body(body)
}

/// `GET /plaintext`: TechEmpower's plaintext baseline.
pub fn plaintext() -> HttpResponse {
    HttpResponse::Ok().content_type(content_type(mime::TEXT)).body("Hello, World!")
}

/// `GET /healthz`: 200 while the dump is as indexed and the index sound,
/// 503 otherwise, and 503 `{"status":"draining",…}` once the server drains
/// before stopping ([`crate::stop::Drain`]), so that balancers stop
/// sending here while the listener is still open.
pub fn healthz(state: &AppState) -> Result<HttpResponse, ApiError> {
    if state.drain.is_on() {
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

/// `GET /stats`: counters, latency percentiles, index facts, RSS, and the
/// releases ([`releases`]: `deploy/update-dump.sh` waits on them).
pub fn stats(state: &AppState) -> HttpResponse {
    let mut doc = stats_json(
        &state.metrics,
        state.started.elapsed().as_secs_f64(),
        &state.facts,
        state.config.workers,
        &state.storage_facts(),
    );
    doc["top_pages"] = state.top_pages().clone();
    releases(state, &mut doc);
    operator().content_type(content_type(mime::JSON)).body(doc.to_string())
}

/// `/stats`' account of the releases: the one served (`release`), the one
/// before the last reload (`previous_release`), the next one
/// (`next_release`: null without `--next-index`; else the path given, and
/// the release opened there, or why it could not be, or neither), and the
/// reloads.
fn releases(state: &AppState, doc: &mut serde_json::Value) {
    let release = |other: &AppState| serde_json::json!({ "index": other.release_path().to_string_lossy(), "etag": other.dump.etag() });
    doc["release"] = serde_json::json!({
        "index": state.release_path().to_string_lossy(),
        "etag": state.dump.etag(),
        "serving_seconds": state.loaded.elapsed().as_secs_f64(),
    });
    doc["previous_release"] = state.previous().map_or(serde_json::Value::Null, |p| release(&p));
    doc["next_release"] = match &state.config.next {
        None => serde_json::Value::Null,
        Some((given, _)) => {
            let mut next = state.next().map_or_else(|| serde_json::json!({ "index": null }), |n| release(&n));
            next["given"] = given.to_string_lossy().into();
            if let Some(refusal) = &state.next_refusal {
                next["refused"] = refusal.as_str().into();
            }
            next
        }
    };
    let (done, refused) = state.reloads.counts();
    doc["reloads"] = serde_json::json!({
        "done": done,
        "refused": refused,
        "last_refusal": state.reloads.last_refusal(),
    });
}

/// `GET /metrics`: the same in Prometheus text format.
pub fn metrics(state: &AppState) -> HttpResponse {
    let text = prometheus_text(
        &state.metrics,
        state.started.elapsed().as_secs_f64(),
        &state.facts,
        &state.storage_facts(),
        state.reloads.counts(),
    );
    operator().content_type("text/plain; version=0.0.4; charset=utf-8").body(text)
}
