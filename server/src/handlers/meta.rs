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

/// `GET /stats`: counters, latency percentiles, index facts, RSS, and
/// which release is served: its index directory and content ETag, since
/// when, the one served before the last reload (its `/xml` still answers),
/// and how the reloads went (`deploy/update-dump.sh` waits on these).
pub fn stats(state: &AppState) -> HttpResponse {
    let mut doc = stats_json(
        &state.metrics,
        state.started.elapsed().as_secs_f64(),
        &state.facts,
        state.config.workers,
        &state.storage_facts(),
    );
    doc["top_pages"] = state.top_pages().clone();
    doc["release"] = serde_json::json!({
        "index": state.release_path().to_string_lossy(),
        "etag": state.dump.etag(),
        "serving_seconds": state.loaded.elapsed().as_secs_f64(),
    });
    let release = |other: Option<std::sync::Arc<AppState>>| match other {
        Some(p) => serde_json::json!({ "index": p.release_path().to_string_lossy(), "etag": p.dump.etag() }),
        None => serde_json::Value::Null,
    };
    doc["previous_release"] = release(state.previous());
    // null without --next-index; else the path given, and the release
    // opened there, or why it could not be, or neither (nothing there).
    if let Some((given, _)) = &state.config.next {
        let mut next = release(state.next.clone());
        if next.is_null() {
            next = serde_json::json!({ "index": null });
        }
        next["given"] = given.to_string_lossy().into();
        if let Some(refusal) = &state.next_refusal {
            next["refused"] = refusal.as_str().into();
        }
        doc["next_release"] = next;
    } else {
        doc["next_release"] = serde_json::Value::Null;
    }
    let (done, refused) = state.reloads.counts();
    doc["reloads"] = serde_json::json!({
        "done": done,
        "refused": refused,
        "last_refusal": state.reloads.last_refusal(),
    });
    operator().content_type(content_type(mime::JSON)).body(doc.to_string())
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
