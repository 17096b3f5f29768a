//! [`ApiError`]: every refusal the API makes, and how it looks on the wire:
//! a fitting status and a JSON body `{"error": "<message>"}`.

use crate::dump::DumpError;
use crate::range::RangeError;
use crate::request::DecodeError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such page or path.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists but not for this method.
    #[error("method not allowed; this path answers GET and HEAD")]
    MethodNotAllowed,
    /// 416: the byte range cannot be served; carries the dump size for
    /// `Content-Range: bytes */SIZE`.
    #[error("{message}")]
    RangeNotSatisfiable {
        /// What is wrong with the range.
        message: String,
        /// The dump's size.
        size: u64,
    },
    /// 412: `If-Match` names another dump (its offsets would point at
    /// other bytes here).
    #[error("{0}")]
    PreconditionFailed(String),
    /// 508: a redirect chain loops or is too long.
    #[error("{0}")]
    LoopDetected(String),
    /// 503: the dump changed or cannot be read.
    #[error("{0}")]
    Unavailable(String),
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> Self {
        ApiError::BadRequest(format!("bad request: {e}"))
    }
}

impl From<DumpError> for ApiError {
    fn from(e: DumpError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

impl From<RangeError> for ApiError {
    fn from(e: RangeError) -> Self {
        match e {
            RangeError::Invalid(m) => ApiError::BadRequest(format!("invalid Range header: {m}")),
            RangeError::Unsatisfiable { size } => ApiError::RangeNotSatisfiable {
                message: format!("range not satisfiable: the dump is {size} bytes"),
                size,
            },
            RangeError::MultipleRanges { size } => ApiError::RangeNotSatisfiable {
                message: "several ranges are not supported; ask for one range".into(),
                size,
            },
            RangeError::TooLarge { len, cap, size } => ApiError::RangeNotSatisfiable {
                message: format!(
                    "range of {len} bytes exceeds the {cap}-byte limit; ask for a smaller range"
                ),
                size,
            },
        }
    }
}

/// The JSON body `{"error": message}`.
pub fn json_error(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::LoopDetected(_) => StatusCode::LOOP_DETECTED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.content_type(crate::mime::content_type(crate::mime::JSON));
        match self {
            ApiError::RangeNotSatisfiable { size, .. } => {
                res.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
                res.insert_header((header::ACCEPT_RANGES, HeaderValue::from_static("bytes")));
            }
            ApiError::MethodNotAllowed => {
                res.insert_header((header::ALLOW, HeaderValue::from_static("GET, HEAD")));
            }
            _ => {}
        }
        res.body(json_error(&self.to_string()))
    }
}
