//! The browser page from `web/`, embedded in the binary at build time so the
//! server needs no files besides the index and the dump.

use actix_web::HttpResponse;
use actix_web::http::header;

/// One embedded file.
pub struct Asset {
    /// Its bytes.
    pub body: &'static [u8],
    /// Its content type.
    pub content_type: &'static str,
}

/// `web/index.html`.
pub const INDEX_HTML: Asset =
    Asset { body: include_bytes!("../../../web/index.html"), content_type: "text/html; charset=utf-8" };
/// `web/app.js`.
pub const APP_JS: Asset =
    Asset { body: include_bytes!("../../../web/app.js"), content_type: "text/javascript; charset=utf-8" };
/// `web/style.css`.
pub const STYLE_CSS: Asset =
    Asset { body: include_bytes!("../../../web/style.css"), content_type: "text/css; charset=utf-8" };

impl Asset {
    /// The response serving it (revalidated on each load: the binary may change).
    pub fn response(&self) -> HttpResponse {
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, self.content_type))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(self.body)
    }
}

/// `GET /`.
pub async fn index() -> HttpResponse {
    INDEX_HTML.response()
}

/// `GET /app.js`.
pub async fn app_js() -> HttpResponse {
    APP_JS.response()
}

/// `GET /style.css`.
pub async fn style_css() -> HttpResponse {
    STYLE_CSS.response()
}
