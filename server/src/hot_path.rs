//! The load-tested lookups, `/xml` and `/offsets/…`, answered below
//! actix-web's App: for `/xml` the App's request object, routing and
//! middleware chain cost more user-space time than the answer itself.
//!
//! Every request passes through here first. A GET or HEAD of exactly `/xml`
//! or of a path under `/offsets/` is answered by the route's own function
//! ([`handlers::xml::answer`], [`handlers::offsets::answer`]) and timed as
//! the App's middleware times it ([`timing::finish`]). Everything else, and
//! every refusal of those two, goes to the App untouched, so there is one
//! place where each answer and each error is written, and the App stays the
//! whole contract: with the hot path off (the access log needs the App's
//! logger) every answer is the same but for the `Server-Timing` figure
//! (`tests/hot_path.rs`). The baselines `/plaintext` and `/json` stay on the
//! App: they measure the framework's floor.

use crate::handlers;
use crate::metrics::Endpoint;
use crate::state::AppState;
use crate::timing;
use actix_http::{HttpMessage, Method, Request, Response};
use actix_service::{Service, ServiceFactory, apply_fn_factory};
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use futures_util::TryFutureExt;
use futures_util::future::{Either, ready};
use std::sync::Arc;
use std::time::Instant;

/// `app`, with the requests [`answer`] takes answered before it; with `state`
/// `None`, `app` alone.
pub(crate) fn wrap<SF, B>(
    app: SF,
    state: Option<Arc<AppState>>,
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
            Some(res) => Either::Left(ready(Ok(res.map_body(|_, body| EitherBody::right(body))))),
            None => Either::Right(
                app.call(req).map_ok(|res| res.into().map_body(|_, body| EitherBody::left(body))),
            ),
        }
    })
}

/// The answer to `req` if it is a GET or HEAD of `/xml` or `/offsets/…`
/// that the route answers without refusing; `None` leaves it to the App.
fn answer(req: &Request, state: &Arc<AppState>) -> Option<Response<BoxBody>> {
    let path = req.path();
    let hot = path == "/xml" || path.starts_with("/offsets/");
    if !hot || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let t0 = Instant::now();
    let (endpoint, res) = if path == "/xml" {
        (Endpoint::Xml, handlers::xml::answer(req.headers(), state))
    } else {
        (Endpoint::Offsets, handlers::offsets::answer(req.uri(), state))
    };
    let mut res = Response::from(res.ok()?);
    timing::finish(&state.metrics, endpoint, t0, res.status(), res.headers_mut());
    Some(res)
}
