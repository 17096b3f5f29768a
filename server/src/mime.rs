//! `Content-Type` values. Responses take them as
//! `HeaderValue::from_static(…)`: given a `&str`, actix checks the value and
//! copies it into a new allocation on every response.

use actix_web::http::header::HeaderValue;

/// JSON answers.
pub const JSON: &str = "application/json";
/// Page fragments and dump ranges.
pub const XML: &str = "text/xml; charset=utf-8";
/// `/plaintext`.
pub const TEXT: &str = "text/plain";

/// A `Content-Type` value made without an allocation.
pub fn content_type(mime: &'static str) -> HeaderValue {
    HeaderValue::from_static(mime)
}
