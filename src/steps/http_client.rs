//! The one HTTP client every check shares: rustls, a timeout on every request, a fresh
//! connection per request, and redirects followed by hand so that a request's own
//! headers (a token, an API key) never reach another origin. Errors are described the
//! way an operator reads them (refused, timed out, TLS) and never carry the URL, which
//! may hold a token.

use std::error::Error as _;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::LOCATION;
use reqwest::{Client, Method, StatusCode, Url, redirect};
use tokio::time::Instant;

/// At most this much of a body is read: enough to match a version string or parse a
/// Prometheus answer, never enough to fill memory.
const MAX_BODY: usize = 256 * 1024;

/// Redirects followed before giving up, as browsers and reqwest's default do.
const MAX_REDIRECTS: usize = 10;

static CLIENT: OnceLock<Result<Client, String>> = OnceLock::new();

fn client() -> Result<&'static Client, String> {
    CLIENT
        .get_or_init(|| {
            Client::builder()
                .user_agent(concat!("rollout/", env!("CARGO_PKG_VERSION")))
                // No idle connection is kept: a server that writes headers and body in two
                // sends with Nagle on (python's http.server) stalls every answer on a reused
                // connection until the client's delayed ACK (~40 ms, bench/probe_nagle.sh);
                // a fresh connection starts in quick-ACK mode and never waits. TCP_NODELAY
                // on our side (reqwest's default) cannot help: the held segment is theirs.
                .pool_max_idle_per_host(0)
                // Redirects are followed in `send`, which decides which headers go along.
                .redirect(redirect::Policy::none())
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
    /// From the first request to the end of the last answer's body, redirects included.
    pub latency: Duration,
    /// The start of the body (lossy UTF-8).
    pub body: String,
    /// Set when a redirect led to another origin and the request's headers stayed behind:
    /// `redirected to http://other:8080, without the request's headers`.
    pub note: Option<String>,
}

/// Sends `req`, following redirects. `Err` is a one-line reason: "connection refused",
/// "timed out after 5s", "TLS: invalid peer certificate: UnknownIssuer".
///
/// A redirect to the same origin (scheme, host and port) is followed with everything;
/// one to another origin without `req.headers` (reqwest itself would strip only
/// `Authorization`, `Cookie` and a few others: its `redirect::remove_sensitive_headers`),
/// and they are never sent again in that chain.
pub async fn send(req: &Request<'_>) -> Result<Answer, String> {
    let client = client()?;
    let first = Url::parse(req.url).map_err(|e| format!("not a valid URL ({e})"))?;
    let mut method = Method::from_bytes(req.method.as_bytes())
        .map_err(|_| format!("`{}` is not an HTTP method", req.method))?;
    let start = Instant::now();
    let describe = |e: reqwest::Error| describe_error(&e, req.timeout);
    let mut url = first.clone();
    let mut json = req.json;
    let mut with_headers = true;
    let mut note = None;
    let mut hops = 0;
    let mut response = loop {
        let left = req.timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(describe_timeout(req.timeout));
        }
        let mut builder = client.request(method.clone(), url.clone()).timeout(left);
        if with_headers {
            for (name, value) in req.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        if let Some(json) = json {
            builder = builder.json(json);
        }
        let response = builder.send().await.map_err(describe)?;
        let Some(next) = redirect_target(&response, &url) else {
            break response;
        };
        hops += 1;
        if hops > MAX_REDIRECTS {
            return Err(format!(
                "more than {MAX_REDIRECTS} redirects (a loop?); the last answer was {}",
                response.status().as_u16()
            ));
        }
        let next = next?;
        if with_headers && !same_origin(&next, &first) {
            with_headers = false;
            if !req.headers.is_empty() {
                note = Some(format!(
                    "redirected to {}, without the request's headers",
                    next.origin().ascii_serialization()
                ));
            }
        }
        // 303, and 301/302 after a POST, turn into a GET without a body (RFC 9110 15.4).
        let status = response.status();
        if status == StatusCode::SEE_OTHER && method != Method::HEAD
            || matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                && method == Method::POST
        {
            method = Method::GET;
            json = None;
        }
        url = next;
    };
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
        note,
    })
}

/// Where a redirect answer points, if it is one to follow; `Err` for a `Location` that
/// cannot be followed.
fn redirect_target(response: &reqwest::Response, from: &Url) -> Option<Result<Url, String>> {
    let status = response.status();
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.headers().get(LOCATION)?;
    let target = location
        .to_str()
        .ok()
        .and_then(|l| from.join(l).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    Some(target.ok_or_else(|| {
        format!(
            "answered {} with a Location that is not an http(s) URL",
            status.as_u16()
        )
    }))
}

/// Same scheme, host and port (the default port counts as written).
fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

fn describe_timeout(timeout: Duration) -> String {
    // A timeout cut to fit the step's deadline reads 999ms 997us: show whole milliseconds.
    let timeout = Duration::from_millis((timeout.as_secs_f64() * 1000.0).round() as u64);
    format!("timed out after {}", humantime::format_duration(timeout))
}

fn describe_error(err: &reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        return describe_timeout(timeout);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = err.source();
    let mut chain = Vec::new();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                std::io::ErrorKind::TimedOut => return describe_timeout(timeout),
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

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(same_origin(
            &url("https://a.example/x"),
            &url("https://a.example:443/y?z")
        ));
        assert!(!same_origin(
            &url("https://a.example/"),
            &url("http://a.example/")
        ));
        assert!(!same_origin(
            &url("http://127.0.0.1:80/"),
            &url("http://127.0.0.1:81/")
        ));
        assert!(!same_origin(
            &url("https://a.example/"),
            &url("https://b.a.example/")
        ));
    }

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
