//! `demo-service probe`: GET a path until it answers 200 (with the expected version) a
//! number of times in a row, printing each try — a smoke test and a health poll the demo
//! can run with nothing installed.

use std::time::{Duration, Instant};

use super::http;
use crate::error::{Error, ExitCode};

pub struct Expect<'a> {
    pub path: &'a str,
    pub version: Option<&'a str>,
    pub successes: u32,
    pub interval: Duration,
    pub within: Duration,
}

pub fn run(port: u16, expect: &Expect<'_>) -> Result<ExitCode, Error> {
    let deadline = Instant::now() + expect.within;
    let mut in_a_row = 0;
    let mut last = String::new();
    loop {
        let started = Instant::now();
        let verdict = check(port, expect);
        let latency = started.elapsed().as_millis();
        match &verdict {
            Ok(body) => {
                in_a_row += 1;
                println!(
                    "GET {} 200 in {latency}ms, {in_a_row}/{} ok: {}",
                    expect.path,
                    expect.successes,
                    body.trim()
                );
            }
            Err(why) => {
                in_a_row = 0;
                println!("GET {} failed in {latency}ms: {why}", expect.path);
                last = why.clone();
            }
        }
        if in_a_row >= expect.successes {
            return Ok(ExitCode::Ok);
        }
        if Instant::now() + expect.interval > deadline {
            return Err(Error::failed(format!(
                "http://127.0.0.1:{port}{} was not healthy {} time(s) in a row within {}",
                expect.path,
                expect.successes,
                humantime::format_duration(expect.within)
            ))
            .with_detail(last));
        }
        std::thread::sleep(expect.interval);
    }
}

/// The body when the answer is what was expected, else why not.
fn check(port: u16, expect: &Expect<'_>) -> Result<String, String> {
    let response =
        http::get(port, expect.path, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    if response.status != 200 {
        return Err(format!("status {}", response.status));
    }
    if let Some(version) = expect.version
        && !response.body.contains(version)
    {
        return Err(format!(
            "expected version {version}, got {}",
            response.body.trim()
        ));
    }
    Ok(response.body)
}
