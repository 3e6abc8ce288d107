//! The fault matrix (issue 11): the real binary against a fake `fly` that fails in every
//! way a tool can, a raw HTTP server that fails in every way a server can, signals
//! mid-step, and storage that cannot be written. Each table row is one cell; each cell
//! asserts the exit code of SPEC §7, the log's last event, the run state, that no child
//! is left alive, that the lock is free, and that every log line is whole.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::mounts;
use crate::support::{Bench, FAKE_PRELUDE, alive};

/// The recording fake, plus: `NAME.VERB.die` (killed by SIGKILL) and `NAME.VERB.exit`.
// `releases` answers like flyctl (fly-go `Release` fields, newest first), so the stable
// release is pinned before each changing cell (SPEC §4.1).
const FAKE_FLY: &str = r#"if [ "$verb" = releases ]; then echo '[{"Version":1,"Status":"complete","ImageRef":"reg/app:1"}]'; exit 0; fi
if [ -f "$FAKE_DIR/$name.$verb.die" ]; then kill -KILL $$; fi
if [ -f "$FAKE_DIR/$name.$verb.exit" ]; then exit "$(cat "$FAKE_DIR/$name.$verb.exit")"; fi
exit 0
"#;

/// One step per platform verb; `verb` is the fake's first argument for it.
const VERBS: &[(&str, &str)] = &[
    ("auth", "kind = \"auth\""),
    ("deploy", "kind = \"deploy\"\nimage = \"reg/app:2\""),
    ("apps", "kind = \"restart\""),
    ("scale", "kind = \"scale\"\ncount = 2"),
    (
        "secrets",
        "kind = \"promote\"\npercent = 10\nflag = \"CANARY\"",
    ),
];

#[derive(Clone, Copy, Debug)]
enum ToolFault {
    ExitsNonZero,
    HangsPastTimeout,
    DiesBySignal,
    PrintsGarbage,
    Prints50MB,
}

/// A project whose one step runs `step` through a fake fly, with `[[rollback]]` a plain
/// command so an auto-rollback is visible.
fn fly_bench(step: &str) -> Bench {
    let bench = Bench::new();
    bench.executable("bin/fly", &format!("{FAKE_PRELUDE}{FAKE_FLY}"));
    bench.fake("undo");
    bench.runbook(
        "app",
        &format!(
            "adapter = \"fly\"\ntarget = \"app\"\n\n[[steps]]\nname = \"cell\"\ntimeout = \"1s\"\n{step}\n\n\
             [[rollback]]\nkind = \"run\"\nname = \"undo\"\ncmd = \"undo it\"\n"
        ),
    );
    bench
}

/// What every cell must leave: a free lock, whole log lines, no live child.
fn assert_clean(bench: &Bench, cell: &str) {
    let log = bench.log();
    assert!(log.is_empty() || log.ends_with('\n'), "{cell}: torn log");
    for line in log.lines() {
        assert!(line.starts_with('['), "{cell}: not an entry: {line:.80}");
    }
    for pid in std::fs::read_to_string(bench.path("fake/fly.pids"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
    {
        assert!(!alive(pid), "{cell}: pid {pid} outlived its step");
    }
    bench
        .run(&["status", "app"])
        .status(0)
        .stdout_has("not locked");
}

#[test]
fn every_platform_verb_against_every_tool_fault() {
    let faults = [
        ToolFault::ExitsNonZero,
        ToolFault::HangsPastTimeout,
        ToolFault::DiesBySignal,
        ToolFault::PrintsGarbage,
        ToolFault::Prints50MB,
    ];
    let garbage: String = (0..20_000u32)
        .map(|i| char::from_u32(i % 0x24F + 1).unwrap_or('?'))
        .collect();
    for &(verb, step) in VERBS {
        for fault in faults {
            let cell = format!("{verb} × {fault:?}");
            let bench = fly_bench(step);
            match fault {
                ToolFault::ExitsNonZero => {
                    bench.tell("fly", verb, "exit", "1");
                }
                ToolFault::HangsPastTimeout => {
                    bench.tell("fly", verb, "hang", "");
                }
                ToolFault::DiesBySignal => {
                    bench.tell("fly", verb, "die", "");
                }
                ToolFault::PrintsGarbage => {
                    bench.tell("fly", verb, "out", &format!("\x1b[31m{garbage}\x07\x00"));
                    bench.tell("fly", verb, "exit", "3");
                }
                ToolFault::Prints50MB => {
                    // Only for the verb that ships a release: 50 MB per cell is enough once.
                    if verb != "deploy" {
                        continue;
                    }
                    let big = "x".repeat(1024 * 1024) + "\n";
                    bench.tell("fly", verb, "out", &big.repeat(50));
                    bench.tell("fly", verb, "exit", "1");
                }
            }
            let run = bench.run(&["promote", "app"]);
            // A failed platform step counts as a change: it rolls back (exit 1 after a
            // rollback that worked); auth changes nothing (exit 1, no rollback).
            assert_eq!(run.code(), 1, "{cell}\n{}", run.stderr());
            assert!(
                !run.stderr().contains('\x1b'),
                "{cell}: raw escape on stderr"
            );
            let events = bench.log_events();
            assert!(
                events.contains(&"STEP FAILED".to_string()),
                "{cell}: {events:?}"
            );
            assert!(
                events.contains(&"RUN FAILED".to_string()),
                "{cell}: {events:?}"
            );
            let state = bench.state("app");
            let status = state["status"].as_str().unwrap_or_default().to_string();
            assert!(
                ["failed", "rolled_back"].contains(&status.as_str()),
                "{cell}: state {status}"
            );
            assert_clean(&bench, &cell);
        }
    }
}

/// How the raw server misbehaves.
#[derive(Clone, Copy, Debug)]
enum HttpFault {
    Refuses,
    Stalls,
    Resets,
    Answers5xx,
    RedirectsInALoop,
    HugeBody,
    NonUtf8Body,
}

/// A raw TCP server on 127.0.0.1 that misbehaves as told; stopped when dropped.
struct FaultServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl FaultServer {
    fn start(fault: HttpFault) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                std::thread::spawn(move || answer(conn, fault, port));
            }
        });
        FaultServer { port, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/health", self.port)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn answer(mut conn: TcpStream, fault: HttpFault, port: u16) {
    if let HttpFault::Resets = fault {
        // Closing with the request unread in the buffer makes the kernel send RST.
        std::thread::sleep(Duration::from_millis(50));
        return;
    }
    let mut buf = [0u8; 8192];
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = conn.read(&mut buf);
    let reply = |status: &str, headers: &str, body: &[u8]| {
        let mut out = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    let bytes = match fault {
        HttpFault::Refuses => return,
        HttpFault::Stalls => {
            std::thread::sleep(Duration::from_secs(3));
            return;
        }
        HttpFault::Resets => return,
        HttpFault::Answers5xx => reply("503 Service Unavailable", "", b"down"),
        HttpFault::RedirectsInALoop => reply(
            "302 Found",
            &format!("location: http://127.0.0.1:{port}/health\r\n"),
            b"",
        ),
        HttpFault::HugeBody => reply(
            "500 Internal Server Error",
            "",
            &vec![b'x'; 20 * 1024 * 1024],
        ),
        HttpFault::NonUtf8Body => {
            reply("500 Internal Server Error", "", b"\xff\xfe\x1b[31m\x00bad")
        }
    };
    let _ = conn.write_all(&bytes);
}

#[test]
fn every_check_against_every_http_fault() {
    let faults = [
        HttpFault::Refuses,
        HttpFault::Stalls,
        HttpFault::Resets,
        HttpFault::Answers5xx,
        HttpFault::RedirectsInALoop,
        HttpFault::HugeBody,
        HttpFault::NonUtf8Body,
    ];
    for fault in faults {
        let server = FaultServer::start(fault);
        let url = match fault {
            HttpFault::Refuses => crate::http::refused_url(),
            _ => server.url(),
        };
        let checks = [
            (
                "health",
                format!(
                    "kind = \"health\"\nurl = \"{url}\"\ninterval = \"100ms\"\nrequest_timeout = \"300ms\"\nsuccesses = 1\nwithin = \"1s\""
                ),
            ),
            (
                "metrics",
                format!(
                    "kind = \"metrics\"\nprometheus = \"{}\"\nquery = \"up\"\nmax = 1\ninterval = \"100ms\"\ncount = 1",
                    url.trim_end_matches("/health")
                ),
            ),
            (
                "soak",
                format!(
                    "kind = \"soak\"\nduration = \"3s\"\nwatch = {{ url = \"{url}\", interval = \"100ms\", request_timeout = \"300ms\", failures = 2 }}"
                ),
            ),
        ];
        for (kind, step) in checks {
            let cell = format!("{kind} × {fault:?}");
            let bench = Bench::new();
            bench.runbook(
                "app",
                &format!("[[steps]]\nname = \"cell\"\ntimeout = \"5s\"\n{step}\n"),
            );
            let run = bench.run(&["promote", "app"]);
            assert_eq!(run.code(), 1, "{cell}\n{}", run.stderr());
            assert!(
                !run.stderr().contains('\x1b'),
                "{cell}: raw escape on stderr"
            );
            assert_eq!(
                bench.log_events().last().map(String::as_str),
                Some("RUN FAILED"),
                "{cell}"
            );
            assert_eq!(bench.state("app")["status"], "failed", "{cell}");
            assert_clean(&bench, &cell);
        }
    }
}

#[test]
fn signals_mid_step() {
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGKILL,
    ] {
        let cell = format!("{signal:?} mid-deploy");
        let bench = fly_bench("kind = \"deploy\"\nimage = \"reg/app:2\"");
        bench.runbook(
            "app",
            "adapter = \"fly\"\ntarget = \"app\"\n\n[[steps]]\nname = \"cell\"\nkind = \"deploy\"\nimage = \"reg/app:2\"\n",
        );
        bench.tell("fly", "deploy", "hang", "");
        let child = bench.spawn(&["promote", "app"]);
        assert!(
            bench.wait_for(Duration::from_secs(20), |b| b
                .path("fake/fly.pids")
                .exists()),
            "{cell}: the deploy never started"
        );
        std::thread::sleep(Duration::from_millis(200));
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        let out = child.wait_with_output().unwrap();
        if signal == Signal::SIGKILL {
            assert_eq!(out.status.code(), None, "{cell}");
            // The next run stops what the killed one left, before anything else.
            bench.forget("fly", "deploy", "hang");
            bench.run(&["rollback", "app", "--emergency"]);
        } else {
            assert_eq!(out.status.code(), Some(130), "{cell}");
            assert_eq!(
                bench.log_events().last().map(String::as_str),
                Some("INTERRUPTED"),
                "{cell}"
            );
            assert_eq!(bench.state("app")["status"], "interrupted", "{cell}");
        }
        assert_clean(&bench, &cell);
    }
}

/// Storage that cannot be written: `(cell, what to break, promote's exit, emergency's)`.
#[test]
fn storage_faults() {
    #[derive(Clone, Copy, Debug)]
    enum Broken {
        LogIsADirectory,
        StateReadOnly,
        LockReadOnly,
        DiskFull,
    }
    let cells = [
        (Broken::LogIsADirectory, 1, 0),
        (Broken::StateReadOnly, 1, 0),
        (Broken::LockReadOnly, 1, 0),
        (Broken::DiskFull, 1, 0),
    ];
    for (broken, promote_code, emergency_code) in cells {
        let cell = format!("{broken:?}");
        let bench = fly_bench("kind = \"deploy\"\nimage = \"reg/app:2\"");
        let mut log_args: Vec<&str> = Vec::new();
        let _guard = match broken {
            Broken::LogIsADirectory => {
                std::fs::create_dir_all(bench.path("logdir")).unwrap();
                log_args = vec!["--log", "logdir"];
                None
            }
            Broken::StateReadOnly => {
                // Where the run journals live.
                std::fs::create_dir_all(bench.path(".rollout/runs")).unwrap();
                match mounts::read_only(&bench.path(".rollout/runs")) {
                    Some(m) => Some(m),
                    None => continue,
                }
            }
            Broken::LockReadOnly => match mounts::read_only(&bench.path(".rollout")) {
                Some(m) => Some(m),
                None => continue,
            },
            Broken::DiskFull => {
                let Some(m) = mounts::small_disk(&bench.path(".rollout"), 64 * 1024) else {
                    continue;
                };
                mounts::fill(&bench.path(".rollout"));
                Some(m)
            }
        };
        let mut promote = vec!["promote", "app"];
        promote.extend(&log_args);
        let run = bench.run(&promote);
        assert_eq!(
            run.code(),
            promote_code,
            "{cell}: promote\n{}",
            run.stderr()
        );
        assert!(
            !bench.calls().iter().any(|c| c.starts_with("fly [deploy]")),
            "{cell}: deployed without its state, lock or log"
        );
        let mut emergency = vec!["rollback", "app", "--emergency"];
        emergency.extend(&log_args);
        let run = bench.run(&emergency);
        assert_eq!(
            run.code(),
            emergency_code,
            "{cell}: emergency\n{}",
            run.stderr()
        );
        assert!(
            bench.calls().iter().any(|c| c == "undo [it]"),
            "{cell}: {:?}",
            bench.calls()
        );
        assert_clean(&bench, &cell);
    }
}
