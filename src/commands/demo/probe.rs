//! `demo-service probe`: GET a path until it answers 200 (with the expected version) a
//! number of times in a row, printing each try — a smoke test and a health poll the demo
//! can run with nothing installed.

use std::time::{Duration, Instant};

use super::http;
use crate::commands::output::print_stdout;
use crate::error::{Error, ExitCode};

/// What the probe waits for: a path, optionally a version, and how many successes in a row.
pub struct Expect<'a> {
    pub path: &'a str,
    pub version: Option<&'a str>,
    pub successes: u32,
    pub interval: Duration,
    pub within: Duration,
}

pub async fn run(port: u16, expect: &Expect<'_>) -> Result<ExitCode, Error> {
    let deadline = Instant::now() + expect.within;
    let mut in_a_row = 0;
    let mut last = String::new();
    loop {
        let started = Instant::now();
        let verdict = check(port, expect).await;
        let latency = started.elapsed().as_millis();
        match &verdict {
            Ok(body) => {
                in_a_row += 1;
                print_stdout(&format!(
                    "GET {} 200 in {latency}ms, {in_a_row}/{} ok: {}",
                    expect.path,
                    expect.successes,
                    body.trim()
                ))?;
            }
            Err(why) => {
                in_a_row = 0;
                print_stdout(&format!("GET {} failed in {latency}ms: {why}", expect.path))?;
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
        tokio::time::sleep(expect.interval).await;
    }
}

/// The body when the answer is what was expected, else why not.
async fn check(port: u16, expect: &Expect<'_>) -> Result<String, String> {
    let response = http::get(port, expect.path, Duration::from_secs(2)).await?;
    if response.status != 200 {
        return Err(format!("status {}", response.status));
    }
    if let Some(version) = expect.version
        && !names_version(&response.body, version)
    {
        return Err(format!(
            "expected version {version}, got {}",
            response.body.trim()
        ));
    }
    Ok(response.body)
}

/// A JSON body's `version` is exactly `version`; a text body mentions it as a word.
fn names_version(body: &str, version: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(json) => json.get("version").and_then(|v| v.as_str()) == Some(version),
        Err(_) => body
            .split(|c: char| c.is_whitespace() || c == ',')
            .any(|word| word == version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_must_match_exactly() {
        assert!(names_version(
            r#"{"status":"ok","version":"2.0.0"}"#,
            "2.0.0"
        ));
        assert!(!names_version(
            r#"{"status":"ok","version":"2.0.0"}"#,
            "2.0"
        ));
        assert!(names_version(
            "hello, version 2.0.0, 10% of traffic",
            "2.0.0"
        ));
        assert!(!names_version("hello, version 12.0.0, 10%", "2.0.0"));
    }
}
