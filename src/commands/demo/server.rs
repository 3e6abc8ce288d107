//! The service itself: `GET /health` → `{"status":"ok","version":V,"percent":P}`,
//! `GET /` → a greeting naming the version. It stops by itself when its pid file no
//! longer names it (replaced, stopped, or the project folder was deleted), so a demo
//! never leaves an orphan behind for long.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use super::daemon::Place;
use super::http::render;
use crate::cli::DemoPort;
use crate::error::{Error, ExitCode};

pub fn serve(at: &DemoPort, version: &str) -> Result<ExitCode, Error> {
    let place = Place::new(at);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, at.port)).map_err(|err| {
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
    for stream in listener.incoming().flatten() {
        let percent = place.percent();
        if let Err(err) = answer(stream, version, percent) {
            eprintln!("demo service: {err}");
        }
    }
    Ok(ExitCode::Ok)
}

fn answer(mut stream: TcpStream, version: &str, percent: u8) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = [0u8; 2048];
    let n = stream.read(&mut buf)?;
    let request = String::from_utf8_lossy(&buf[..n]);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let response = match path {
        "/health" => render(
            200,
            "OK",
            "application/json",
            &serde_json::json!({"status": "ok", "version": version, "percent": percent})
                .to_string(),
        ),
        "/" => render(
            200,
            "OK",
            "text/plain",
            &format!("hello from the rollout demo, version {version}, {percent}% of traffic\n"),
        ),
        _ => render(404, "Not Found", "text/plain", "not found\n"),
    };
    println!("GET {path}");
    stream.write_all(response.as_bytes())
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
