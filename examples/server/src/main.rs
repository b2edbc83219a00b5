//! `cargo run -p server`, then edit `examples/server/src/lib.rs`.
//!
//! Listens on `SERVER_ADDR` (default `127.0.0.1:3000`); with
//! `SERVER_SECONDS`, stops after that many seconds.

use std::time::Duration;

#[tokio::main]
async fn main() {
    // A server has no loop to call `update()` in: builds are applied on a
    // thread of the reloader's own.
    let _hot = hotreload_runtime::Reloader::start()
        .unwrap_or_else(|error| {
            eprintln!("no hot reload: {error}");
            hotreload_runtime::Reloader::off()
        })
        .in_background();
    let addr = std::env::var("SERVER_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|error| panic!("cannot listen on {addr}: {error}"));
    let local = listener.local_addr().expect("a bound address");
    println!("listening on http://{local}");
    let serve = axum::serve(listener, server::router());
    match std::env::var("SERVER_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seconds) => {
            let _ = tokio::time::timeout(Duration::from_secs(seconds), serve).await;
        }
        None => serve.await.expect("serve"),
    }
}
