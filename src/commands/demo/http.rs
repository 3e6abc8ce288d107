//! The demo's client side: one GET on 127.0.0.1 through the project's own HTTP client
//! (reqwest, the one every health check uses), so the demo exercises the real thing.

use std::time::Duration;

use crate::steps::http_client::{Answer, Request, send};

/// `GET path` on 127.0.0.1:port; `timeout` bounds the whole request. `Err` is a one-line
/// reason ("connection refused", "timed out after 2s").
pub async fn get(port: u16, path: &str, timeout: Duration) -> Result<Answer, String> {
    let url = format!("http://127.0.0.1:{port}{path}");
    send(&Request {
        method: "GET",
        url: &url,
        headers: &[],
        json: None,
        timeout,
    })
    .await
}
