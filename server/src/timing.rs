//! What a timed request does once its answer is ready: count it in
//! [`crate::metrics`] and tell the client how long the server took, in a
//! `Server-Timing` header (the web page shows it). Called for every timed
//! route by [`crate::routes::serve`].

use crate::metrics::{Endpoint, Metrics};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::Instant;

/// Records an answer of `endpoint` with `status`, begun at `t0`, and adds its
/// `Server-Timing` header to `headers`.
pub(crate) fn finish(
    metrics: &Metrics,
    endpoint: Endpoint,
    t0: Instant,
    status: StatusCode,
    headers: &mut HeaderMap,
) {
    let us = t0.elapsed().as_micros() as u64;
    metrics.record(endpoint, status.as_u16() >= 400, us);
    headers.insert(HeaderName::from_static("server-timing"), server_timing(us));
}

/// The `Server-Timing` header for a request that took `us` microseconds,
/// `app;dur=MS.mmm`, formatted on the stack (this runs on every timed
/// request; `format!` plus the header's own copy cost two allocations).
fn server_timing(us: u64) -> HeaderValue {
    let mut buf = [0u8; 40];
    let mut ms = itoa::Buffer::new();
    let whole = ms.format(us / 1000).as_bytes();
    let frac = us % 1000;
    let tail = [b'.', b'0' + (frac / 100) as u8, b'0' + (frac / 10 % 10) as u8, b'0' + (frac % 10) as u8];
    let n = 8 + whole.len() + 4;
    buf[..8].copy_from_slice(b"app;dur=");
    buf[8..8 + whole.len()].copy_from_slice(whole);
    buf[8 + whole.len()..n].copy_from_slice(&tail);
    HeaderValue::from_bytes(&buf[..n]).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_timing_is_milliseconds_with_three_decimals() {
        for (us, text) in [
            (0, "app;dur=0.000"),
            (7, "app;dur=0.007"),
            (1_050, "app;dur=1.050"),
            (u64::MAX, "app;dur=18446744073709551.615"),
        ] {
            assert_eq!(super::server_timing(us).to_str().unwrap(), text);
        }
    }
}
