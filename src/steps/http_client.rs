//! The one HTTP client every check shares: rustls, connection reuse, and a timeout on
//! every request. Errors are described the way an operator reads them (refused,
//! timed out, TLS) and never carry the URL, which may hold a token.

use std::error::Error as _;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::{Client, Method, Url};
use tokio::time::Instant;

/// At most this much of a body is read: enough to match a version string or parse a
/// Prometheus answer, never enough to fill memory.
const MAX_BODY: usize = 256 * 1024;

static CLIENT: OnceLock<Result<Client, String>> = OnceLock::new();

fn client() -> Result<&'static Client, String> {
    CLIENT
        .get_or_init(|| {
            Client::builder()
                .user_agent(concat!("rollout/", env!("CARGO_PKG_VERSION")))
                .pool_idle_timeout(Duration::from_secs(90))
                .build()
                .map_err(|e| format!("cannot set up the HTTP client: {}", innermost(&e)))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// One request to make.
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub json: Option<&'a serde_json::Value>,
    /// The whole request: connect, headers and body.
    pub timeout: Duration,
}

/// An answer, whatever its status.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub latency: Duration,
    /// The start of the body (lossy UTF-8).
    pub body: String,
}

/// Sends `req`. `Err` is a one-line reason: "connection refused", "timed out after 5s",
/// "TLS: invalid peer certificate: UnknownIssuer".
pub async fn send(req: &Request<'_>) -> Result<Answer, String> {
    let client = client()?;
    let url = Url::parse(req.url).map_err(|e| format!("not a valid URL ({e})"))?;
    let method = Method::from_bytes(req.method.as_bytes())
        .map_err(|_| format!("`{}` is not an HTTP method", req.method))?;
    let mut builder = client.request(method, url).timeout(req.timeout);
    for (name, value) in req.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(json) = req.json {
        builder = builder.json(json);
    }
    let start = Instant::now();
    let describe = |e: reqwest::Error| describe_error(&e, req.timeout);
    let mut response = builder.send().await.map_err(describe)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while body.len() < MAX_BODY {
        match response.chunk().await.map_err(describe)? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    body.truncate(MAX_BODY);
    Ok(Answer {
        status,
        latency: start.elapsed(),
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn describe_error(err: &reqwest::Error, timeout: Duration) -> String {
    // A timeout cut to fit the step's deadline reads 999ms 997us: show whole milliseconds.
    let timeout = Duration::from_millis((timeout.as_secs_f64() * 1000.0).round() as u64);
    if err.is_timeout() {
        return format!("timed out after {}", humantime::format_duration(timeout));
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = err.source();
    let mut chain = Vec::new();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                std::io::ErrorKind::TimedOut => {
                    return format!("timed out after {}", humantime::format_duration(timeout));
                }
                _ => {}
            }
        }
        chain.push(e.to_string());
        source = e.source();
    }
    let inner = innermost(err);
    let all = chain.join(": ").to_lowercase();
    if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        format!("TLS: {inner}")
    } else if all.contains("dns") || all.contains("lookup") {
        format!("cannot resolve the host: {inner}")
    } else if err.is_connect() {
        format!("cannot connect: {inner}")
    } else if err.is_body() || err.is_decode() {
        format!("the answer broke off: {inner}")
    } else {
        inner
    }
}

/// The deepest message in an error's chain: the one that says what really happened,
/// and (unlike reqwest's own Display) never the URL.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    let text = last.to_string();
    if std::ptr::eq(last, err) {
        // reqwest's own message only: strip its "for url (…)" part.
        return text.split(" for url (").next().unwrap_or(&text).to_string();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_says_so() {
        // Bind then drop: the port is very likely free and refuses.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        let url = format!("http://127.0.0.1:{port}/");
        let err = send(&Request {
            method: "GET",
            url: &url,
            headers: &[],
            json: None,
            timeout: Duration::from_secs(2),
        })
        .await
        .unwrap_err();
        assert_eq!(err, "connection refused");
    }
}
