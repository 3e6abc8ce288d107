//! The service itself: `GET /health` → `{"status":"ok","version":V,"percent":P}`,
//! `GET /` → a greeting naming the version. It stops by itself when its pid file no
//! longer names it (replaced, stopped, or the project folder was deleted), so a demo
//! never leaves an orphan behind for long.
//!
//! HTTP is tiny_http's (a maintained, synchronous HTTP/1.1 server): it reads a request
//! however the client's bytes arrive, which a hand-written one-`read` server did not.

use std::path::Path;
use std::time::Duration;

use tiny_http::{Header, Response, Server};

use super::daemon::Place;
use crate::cli::DemoPort;
use crate::error::{Error, ExitCode};

pub fn serve(at: &DemoPort, version: &str) -> Result<ExitCode, Error> {
    let place = Place::new(at);
    let server = Server::http(("127.0.0.1", at.port)).map_err(|err| {
        Error::failed(format!(
            "demo service: cannot listen on 127.0.0.1:{}",
            at.port
        ))
        .with_detail(err.to_string())
        .with_hint("choose another port: --set port=N")
    })?;
    let me = std::process::id();
    watch_pid_file(place.pid_file(), me);
    println!(
        "demo service {version} listening on 127.0.0.1:{} (pid {me})",
        at.port
    );
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or("/").to_string();
        let (status, content_type, body) = answer(&path, version, place.percent());
        let mut response = Response::from_string(body).with_status_code(status);
        if let Ok(header) = Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes()) {
            response.add_header(header);
        }
        println!("{} {path} {status}", request.method());
        if let Err(err) = request.respond(response) {
            eprintln!("demo service: {err}");
        }
    }
    Ok(ExitCode::Ok)
}

/// Status, content type and body for a path.
fn answer(path: &str, version: &str, percent: u8) -> (u16, &'static str, String) {
    match path {
        "/health" => (
            200,
            "application/json",
            serde_json::json!({"status": "ok", "version": version, "percent": percent}).to_string(),
        ),
        "/" => (
            200,
            "text/plain",
            format!("hello from the rollout demo, version {version}, {percent}% of traffic\n"),
        ),
        _ => (404, "text/plain", "not found\n".to_string()),
    }
}

/// Exits the process once the pid file stops naming `me`.
fn watch_pid_file(pid_file: std::path::PathBuf, me: u32) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(500));
            if !names(&pid_file, me) {
                std::process::exit(0);
            }
        }
    });
}

fn names(pid_file: &Path, me: u32) -> bool {
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
        == Some(me)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_names_the_version_and_percent() {
        let (status, kind, body) = answer("/health", "2.0.0", 10);
        assert_eq!((status, kind), (200, "application/json"));
        assert_eq!(body, r#"{"percent":10,"status":"ok","version":"2.0.0"}"#);
        assert_eq!(answer("/nope", "2.0.0", 10).0, 404);
        assert!(answer("/", "1.0.0", 100).2.contains("version 1.0.0, 100%"));
    }
}
