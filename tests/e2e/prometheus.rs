//! `metrics` against a REAL Prometheus (Debian's `prometheus` package), started by each
//! test on 127.0.0.1 with a free port, a temporary `--storage.tsdb.path` and a config that
//! scrapes itself every second; killed when the test ends, even when it fails. Skipped,
//! saying so, where `prometheus` is not installed (`.ci/run` installs it).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::{Reply, TestServer};
use crate::support::Bench;

/// How long a fresh server may take to answer with its first scrape (about 2 s here).
const STARTUP: Duration = Duration::from_secs(60);

/// A running `prometheus`, killed on drop.
struct RealPrometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RealPrometheus {
    /// Starts one scraping itself and, when given, `exporter` (host:port) as job `app`.
    /// `None` when prometheus is not installed.
    fn start(exporter: Option<&str>) -> Option<RealPrometheus> {
        let bin = std::env::var("ROLLOUT_PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".into());
        if Command::new(&bin)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            eprintln!("skipped: prometheus is not installed (apt-get install prometheus)");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        );
        if let Some(target) = exporter {
            config.push_str(&format!(
                "  - job_name: app\n    static_configs:\n      - targets: ['{target}']\n"
            ));
        }
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("config");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new(&bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let mut server = RealPrometheus {
            child,
            port,
            _dir: dir,
        };
        // Ready when it has scraped itself once: `up` then has a sample.
        server.wait_for_data("up{job=\"prometheus\"}");
        Some(server)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until `query` returns at least one series, or fails the test.
    fn wait_for_data(&mut self, query: &str) {
        let start = Instant::now();
        while start.elapsed() < STARTUP {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self._dir.path().join("prometheus.log"))
                    .unwrap_or_default();
                panic!("prometheus exited ({status}) before it answered; its log:\n{log}");
            }
            if let Some(body) = get(self.port, &format!("/api/v1/query?query={}", encode(query)))
                && body.contains("\"result\":[{")
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log =
            std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default();
        panic!("prometheus had no data for {query} after {STARTUP:?}; its log:\n{log}");
    }
}

impl Drop for RealPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now (never 9090).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// `GET path` on 127.0.0.1:port; the body, or `None` while nothing answers.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

/// Percent-encodes a query for a URL.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A runbook with one metrics step against `prometheus`.
fn gate(prometheus: &str, query: &str, bounds: &str) -> String {
    let mut step = toml::Table::new();
    step.insert("kind".into(), "metrics".into());
    step.insert("prometheus".into(), prometheus.into());
    step.insert("query".into(), query.into());
    let mut doc = toml::Table::new();
    doc.insert(
        "steps".into(),
        toml::Value::Array(vec![toml::Value::Table(step)]),
    );
    format!("{}{bounds}\n", toml::to_string(&doc).expect("toml"))
}

#[test]
fn metrics_on_a_real_prometheus() {
    let Some(prom) = RealPrometheus::start(None) else {
        return;
    };
    let url = prom.url();
    let bench = Bench::new();
    let run = |name: &str, query: &str, bounds: &str| {
        bench.runbook(name, &gate(&url, query, bounds));
        bench.run(&["promote", name, "--verbose"])
    };

    // An instant vector: one series, named with its labels.
    run("instant", "up{job=\"prometheus\"}", "min = 1")
        .status(0)
        .stderr_has(&format!(
            "sample 1/1: up{{instance=\"127.0.0.1:{}\",job=\"prometheus\"}} = 1 — ok",
            prom.port
        ));

    // Several series: the worst one is named, passing and failing.
    run("several", "prometheus_build_info or up", "max = 1")
        .status(0)
        .stderr_has("the worst of 2 series — ok");
    run(
        "several-bad",
        "count by (job) (up) * 3 or vector(1)",
        "max = 2",
    )
    .status(1)
    .stderr_has(
        "{job=\"prometheus\"} = 3, over the maximum 2 (the worst of 2 series; 1 out of bounds)",
    );

    // No series at all: `no_data` decides.
    run("empty", "no_such_metric_anywhere", "max = 1")
        .status(1)
        .stderr_has("sample 1/1: FAILED: no data: the query returned no series");
    run(
        "empty-ok",
        "no_such_metric_anywhere",
        "max = 1\nno_data = \"pass\"",
    )
    .status(0)
    .stderr_has("no data (no series), which passes: no_data = \"pass\"");

    // 0/0 is NaN on a real server, in a vector and as a scalar; never a pass.
    run("nan", "up{job=\"prometheus\"} * 0 / 0", "max = 1\nno_data = \"pass\"")
        .status(1)
        .stderr_has(&format!(
            "{{instance=\"127.0.0.1:{}\",job=\"prometheus\"}} is NaN (not a number, e.g. 0/0 when nothing was counted): a NaN never passes a threshold",
            prom.port
        ));
    run("nan-scalar", "0/0", "min = 0")
        .status(1)
        .stderr_has("scalar is NaN");

    // A PromQL syntax error: Prometheus's own words, and no second sample.
    run(
        "syntax",
        "sum(rate(up[1m])",
        "max = 1\ncount = 3\ninterval = \"30s\"\nfailure_limit = 2",
    )
    .status(1)
    .stderr_has("Prometheus answered 400: bad_data: invalid parameter \"query\": 1:")
    .stderr_has("parse error: unclosed left parenthesis")
    .stderr_has("Prometheus rejects the query itself");
}

/// A service's `/metrics`: requests of the canary, all 200 (no 5xx series at all), and a
/// latency histogram, growing with every scrape.
fn exporter() -> TestServer {
    TestServer::start(|_, n| {
        let n = n as u64 + 1;
        Reply::ok(&format!(
            "# TYPE http_requests_total counter\n\
             http_requests_total{{app=\"web\",track=\"canary\",code=\"200\"}} {}\n\
             # TYPE http_request_duration_seconds histogram\n\
             http_request_duration_seconds_bucket{{app=\"web\",track=\"canary\",le=\"0.1\"}} {}\n\
             http_request_duration_seconds_bucket{{app=\"web\",track=\"canary\",le=\"0.5\"}} {}\n\
             http_request_duration_seconds_bucket{{app=\"web\",track=\"canary\",le=\"+Inf\"}} {}\n\
             http_request_duration_seconds_sum{{app=\"web\",track=\"canary\"}} {}\n\
             http_request_duration_seconds_count{{app=\"web\",track=\"canary\"}} {}\n",
            n * 50,
            n * 45,
            n * 50,
            n * 50,
            n * 3,
            n * 50
        ))
    })
}

/// Every `query` of a Prometheus check in a runbook (steps and watches, any section),
/// with the metrics step's own bounds ignored: what matters is that it returns a number.
fn prometheus_queries(doc: &toml::Value, out: &mut Vec<String>) {
    match doc {
        toml::Value::Table(table) => {
            if let (Some(toml::Value::String(query)), true) =
                (table.get("query"), table.contains_key("prometheus"))
            {
                out.push(query.clone());
            }
            table.values().for_each(|v| prometheus_queries(v, out));
        }
        toml::Value::Array(items) => items.iter().for_each(|v| prometheus_queries(v, out)),
        _ => {}
    }
}

/// Names of `{{secret.NAME}}` and `{{env.NAME}}` in a runbook, so a test can set them.
fn referenced_env(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\{\{\s*(?:secret|env)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
        .expect("regex");
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

#[test]
fn the_shipped_queries_return_a_number_on_a_real_prometheus() {
    let service = exporter();
    let target = service.url("").trim_start_matches("http://").to_string();
    let Some(mut prom) = RealPrometheus::start(Some(&target)) else {
        return;
    };
    // rate() needs two scrapes of the service.
    prom.wait_for_data("rate(http_requests_total{app=\"web\"}[1m]) > 0");
    let url = prom.url();

    // The mistake this guards against, on the same server: with traffic and no 5xx
    // series yet, a plain ratio is "no data", and `or vector(0)` makes it 0.
    let bench = Bench::new();
    bench.runbook(
        "plain",
        &gate(
            &url,
            "sum(rate(http_requests_total{app=\"web\",code=~\"5..\"}[1m])) / sum(rate(http_requests_total{app=\"web\"}[1m]))",
            "max = 0.01",
        ),
    );
    bench
        .run(&["promote", "plain"])
        .status(1)
        .stderr_has("no data");
    // The README's "error rate above 5 % for 5 minutes", as written there.
    bench.runbook(
        "windowed",
        &gate(
            &url,
            "min_over_time(((sum(rate(http_requests_total{code=~\"5..\"}[1m])) or vector(0)) / (sum(rate(http_requests_total[1m])) > 0) or vector(0))[5m:30s])",
            "max = 0.05",
        ),
    );
    bench
        .run(&["promote", "windowed", "--verbose"])
        .status(0)
        .stderr_has("sample 1/1: value = 0 — ok");

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .expect("runbooks/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("runbook");
        let doc: toml::Value = toml::from_str(&text).expect("a shipped runbook parses");
        let mut queries = Vec::new();
        prometheus_queries(&doc, &mut queries);
        if queries.is_empty() {
            continue;
        }
        // The runbook's own target and vars, so its templates resolve as they would.
        let mut copy = toml::Table::new();
        if let Some(target) = doc.get("target") {
            copy.insert("target".into(), target.clone());
        }
        if let Some(vars) = doc.get("vars") {
            copy.insert("vars".into(), vars.clone());
        }
        let steps = queries
            .iter()
            .map(|query| {
                let mut step = toml::Table::new();
                step.insert("kind".into(), "metrics".into());
                step.insert("prometheus".into(), url.clone().into());
                step.insert("query".into(), query.clone().into());
                // Any number passes; no data and NaN do not.
                step.insert("min".into(), (-1.0e300).into());
                step.insert("max".into(), 1.0e300.into());
                toml::Value::Table(step)
            })
            .collect();
        copy.insert("steps".into(), toml::Value::Array(steps));
        let name = file.file_stem().and_then(|s| s.to_str()).expect("a name");
        let bench = Bench::new();
        bench.runbook(name, &toml::to_string(&copy).expect("toml"));
        let env: Vec<(String, String)> = referenced_env(&text)
            .into_iter()
            .map(|n| (n, "https://hooks.example.com/x".to_string()))
            .collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let run = bench.run_with(&["promote", name, "--verbose"], &env);
        assert_eq!(
            run.code(),
            0,
            "a query of runbooks/{name}.toml does not return a number on a real Prometheus:\n{}",
            run.stderr()
        );
        assert_eq!(
            run.stderr().matches(" — ok").count(),
            queries.len(),
            "{}",
            run.stderr()
        );
        checked += queries.len();
    }
    assert!(checked > 0, "no Prometheus query found in runbooks/");
}
