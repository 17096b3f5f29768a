//! The lookups, `/offsets/…`, `/wiki/…` and `/xml`, and the baselines
//! `/plaintext` and `/json`, answered below actix-web's App: for `/xml` the
//! App's request object, routing and middleware chain cost more user-space
//! time than the answer itself.
//!
//! Every request passes through here first. A GET or HEAD of exactly `/xml`,
//! or of a path under `/offsets/` or `/wiki/`, is answered by the route's own
//! function ([`handlers::xml::answer`], [`handlers::offsets::answer`],
//! [`handlers::wiki::answer`]) and timed as the App's middleware times it
//! ([`timing::finish`]). Everything else, and every refusal of those, goes to
//! the App untouched, so there is one place where each answer and each error
//! is written, and the App stays the whole contract: with the hot path off
//! (the access log needs the App's logger) every answer is the same but for
//! the `Server-Timing` figure (`tests/hot_path.rs`).
//!
//! The baselines come this way too, untimed as on the App
//! ([`Endpoint::of_path`]): they measure the floor of the stack the lookups
//! are served by, so "how close is `/offsets` to `/plaintext`" compares like
//! with like (on the App, `/plaintext` takes thousands more user-space
//! instructions than the same answer here; docs/BENCHMARKS.md, "The hot
//! path").
//!
//! Being the outermost layer, this is also where answers learn that the
//! server drains ([`crate::workers::Drain`]): from then on each one closes
//! its connection, whichever side wrote it.

use crate::error::ApiError;
use crate::handlers;
use crate::metrics::Endpoint;
use crate::state::AppState;
use crate::timing;
use crate::workers::Drain;
use actix_http::{ConnectionType, HttpMessage, Method, Request, Response};
use actix_service::{Service, ServiceFactory, apply_fn_factory};
use actix_web::HttpResponse;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use futures_util::TryFutureExt;
use futures_util::future::{Either, ready};
use std::sync::Arc;
use std::time::Instant;

/// `app`, with the requests [`answer`] takes answered before it; with `state`
/// `None`, `app` alone. Once `drain` is on, every answer, the App's and the
/// hot path's, closes its connection ([`close_while_draining`]).
pub(crate) fn wrap<SF, B>(
    app: SF,
    state: Option<Arc<AppState>>,
    drain: Drain,
) -> impl ServiceFactory<
    Request,
    Config = (),
    Response = Response<EitherBody<B, BoxBody>>,
    Error = SF::Error,
    InitError = SF::InitError,
>
where
    SF: ServiceFactory<Request, Config = ()>,
    SF::Response: Into<Response<B>>,
    B: MessageBody,
{
    apply_fn_factory(app, move |req: Request, app: &SF::Service| {
        match state.as_ref().and_then(|state| answer(&req, state)) {
            Some(res) => {
                let res = close_while_draining(res, &drain);
                Either::Left(ready(Ok(res.map_body(|_, body| EitherBody::right(body)))))
            }
            None => {
                let drain = drain.clone();
                Either::Right(app.call(req).map_ok(move |res| {
                    let res = close_while_draining(res.into(), &drain);
                    res.map_body(|_, body| EitherBody::left(body))
                }))
            }
        }
    })
}

/// `res`, told to close its connection if the drain has begun: checked as
/// the answer leaves, so one that began before the signal and ends during
/// the drain closes too. Here, below everything else, because the hot
/// path's answers never pass through the App.
fn close_while_draining<B>(mut res: Response<B>, drain: &Drain) -> Response<B> {
    if drain.is_on() {
        res.head_mut().set_connection_type(ConnectionType::Close);
    }
    res
}

/// The answer to `req` if it is a GET or HEAD of `/offsets/…`, `/wiki/…`,
/// `/xml`, `/plaintext` or `/json` that the route answers without refusing;
/// `None` leaves it to the App.
fn answer(req: &Request, state: &Arc<AppState>) -> Option<Response<BoxBody>> {
    type Route = fn(&Request, &Arc<AppState>) -> Result<HttpResponse, ApiError>;
    let path = req.path();
    // The endpoint each answer is timed and counted as; `None`: untimed.
    let (endpoint, route): (Option<Endpoint>, Route) = if path.starts_with("/offsets/") {
        (Some(Endpoint::Offsets), |req, state| handlers::offsets::answer(req.uri(), req.headers(), state))
    } else if path.starts_with("/wiki/") {
        (Some(Endpoint::Wiki), |req, state| handlers::wiki::answer(req.uri(), req.headers(), state))
    } else if path == "/xml" {
        (Some(Endpoint::Xml), |req, state| handlers::xml::answer(req.headers(), state))
    } else if path == "/plaintext" {
        (None, |_, _| Ok(handlers::meta::plaintext_answer()))
    } else if path == "/json" {
        (None, |_, _| Ok(handlers::meta::json_answer()))
    } else {
        return None;
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let timed = endpoint.map(|endpoint| (endpoint, Instant::now()));
    let mut res = Response::from(route(req, state).ok()?);
    if let Some((endpoint, t0)) = timed {
        timing::finish(&state.metrics, endpoint, t0, res.status(), res.headers_mut());
    }
    Some(res)
}
