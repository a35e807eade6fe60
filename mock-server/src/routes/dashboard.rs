//! The dashboard: one page at `/__admin/ui` that shows the journal, the directory, each app's
//! rate windows and the control plane, and changes them only through the public `/__admin`
//! API. Its three files are compiled into the binary, so it works offline and needs no build
//! step; the routes sit behind the admin guard like every other `/__admin` route.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// The page's path.
pub const PAGE: &str = "/__admin/ui";

const INDEX_HTML: &str = include_str!("../../assets/dashboard/index.html");
const APP_JS: &str = include_str!("../../assets/dashboard/app.js");
const APP_CSS: &str = include_str!("../../assets/dashboard/app.css");

/// The page and its script and style sheet.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            PAGE,
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/__admin/ui/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/__admin/ui/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
}

/// An asset, revalidated on every load so a new build's page is never mixed with an old script.
fn asset(content_type: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        text,
    )
        .into_response()
}

/// The answer to `/__admin/ui?token=<admin token>`: keeps the token in a cookie the admin
/// guard accepts (script cannot read it, other sites cannot send it) and reloads the page
/// without the token in its address.
pub fn sign_in(cookie: &str, token: &str) -> Response {
    let value = format!("{cookie}={token}; Path=/__admin; HttpOnly; SameSite=Strict");
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, PAGE)]).into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
