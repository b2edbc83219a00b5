//! The handlers: edit them while the server runs (and while a load
//! generator hammers it); the next request is served by the new code.

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use hotreload_runtime::hot;

/// `GET /version`: edit the number and save.
#[hot]
pub async fn version() -> String {
    "version 1".to_string()
}

/// `GET /hello/{name}`.
#[hot]
pub async fn hello(Path(name): Path<String>) -> String {
    format!("hello, {name}")
}

/// The routes.
pub fn router() -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/hello/{name}", get(hello))
}
