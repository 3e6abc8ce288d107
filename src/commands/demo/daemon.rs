//! Deploying the demo service: stop what runs on the port, start VERSION detached (its
//! own session, stdio to a file), wait until it answers, and keep the release history
//! that `rollback` goes back through.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::http;
use crate::cli::DemoPort;
use crate::commands::output::print_stdout;
use crate::error::{Error, ExitCode};

/// How long a new release may take to answer its first health check.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// The demo's folder for one port.
pub struct Place {
    dir: PathBuf,
    port: u16,
}

impl Place {
    pub fn new(at: &DemoPort) -> Place {
        Place {
            dir: at.state.join(at.port.to_string()),
            port: at.port,
        }
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("pid")
    }

    fn releases_file(&self) -> PathBuf {
        self.dir.join("releases")
    }

    fn percent_file(&self) -> PathBuf {
        self.dir.join("percent")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("service.log")
    }

    /// The traffic percent the service reports (100 until a stage says otherwise).
    pub fn percent(&self) -> u8 {
        fs::read_to_string(self.percent_file())
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(100)
    }

    fn set_percent(&self, percent: u8) -> Result<(), Error> {
        write(&self.percent_file(), &format!("{percent}\n"))
    }

    fn releases(&self) -> Vec<String> {
        fs::read_to_string(self.releases_file())
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn set_releases(&self, releases: &[String]) -> Result<(), Error> {
        write(&self.releases_file(), &(releases.join("\n") + "\n"))
    }

    /// The pid in the pid file, if that process is alive.
    fn running(&self) -> Option<Pid> {
        let pid: i32 = fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        // A pid can be reused: only a live demo service counts, never another process.
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let ours = cmdline.split(|b| *b == 0).any(|arg| arg == b"demo-service");
        let pid = Pid::from_raw(pid);
        (ours && kill(pid, None).is_ok()).then_some(pid)
    }
}

fn write(path: &std::path::Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| Error::failed(format!("cannot create {}: {e}", parent.display())))?;
    }
    fs::write(path, text)
        .map_err(|e| Error::failed(format!("cannot write {}: {e}", path.display())))
}

pub async fn deploy(at: &DemoPort, version: &str) -> Result<ExitCode, Error> {
    let place = Place::new(at);
    let mut releases = place.releases();
    let previous = releases.last().cloned();
    start(&place, version).await?;
    if previous.as_deref() != Some(version) {
        releases.push(version.to_string());
    }
    place.set_releases(&releases)?;
    // A new release starts with no traffic; promote stages raise it.
    place.set_percent(0)?;
    match previous {
        Some(previous) => print_stdout(&format!(
            "deployed {version} (was {previous}) on http://127.0.0.1:{}",
            at.port
        ))?,
        None => print_stdout(&format!(
            "deployed {version} on http://127.0.0.1:{}",
            at.port
        ))?,
    }
    Ok(ExitCode::Ok)
}

/// Starts `version` when no demo service runs on the port; a running one is left as it
/// is (whatever its release), so running this twice changes nothing the second time.
pub async fn ensure(at: &DemoPort, version: &str) -> Result<ExitCode, Error> {
    let place = Place::new(at);
    if place.running().is_some() {
        let current = place.releases().last().cloned().unwrap_or_default();
        print_stdout(&format!(
            "{current} already serving on http://127.0.0.1:{}",
            at.port
        ))?;
        return Ok(ExitCode::Ok);
    }
    start(&place, version).await?;
    place.set_releases(&[version.to_string()])?;
    place.set_percent(100)?;
    print_stdout(&format!(
        "{version} serving on http://127.0.0.1:{} (the release before yours)",
        at.port
    ))?;
    Ok(ExitCode::Ok)
}

/// The release the service runs, from its own record; nothing when none runs (a first
/// deploy has no stable release to pin).
pub fn current(at: &DemoPort) -> Result<ExitCode, Error> {
    let place = Place::new(at);
    if place.running().is_some()
        && let Some(release) = place.releases().last()
    {
        print_stdout(release)?;
    }
    Ok(ExitCode::Ok)
}

/// A check that changes nothing: passes when this project's demo service runs on the
/// port, or when the port is free (the first step starts it); fails when something else
/// holds it.
pub async fn check(at: &DemoPort) -> Result<ExitCode, Error> {
    let place = Place::new(at);
    if let Some(pid) = place.running() {
        let current = place.releases().last().cloned().unwrap_or_default();
        print_stdout(&format!(
            "the demo service {current} runs on port {} (pid {pid})",
            at.port
        ))?;
        return Ok(ExitCode::Ok);
    }
    // Binding and dropping at once is how to ask "is it free?" without a race-prone
    // guess; nothing keeps the port.
    if std::net::TcpListener::bind(("127.0.0.1", at.port)).is_ok() {
        print_stdout(&format!(
            "port {} is free: the run starts the demo service there",
            at.port
        ))?;
        return Ok(ExitCode::Ok);
    }
    let what = match http::get(at.port, "/health", Duration::from_secs(1)).await {
        Ok(answer) => format!("it answers GET /health with {}", answer.status),
        Err(why) => format!("GET /health: {why}"),
    };
    Err(Error::failed(format!(
        "port {} is taken by something that is not this project's demo service",
        at.port
    ))
    .with_detail(what)
    .with_hint("choose another port: --set port=N"))
}

/// Goes back to `to` when given (idempotent: a second rollback to it restarts it and
/// keeps it), else to the release before the current one.
pub async fn rollback(at: &DemoPort, to: Option<&str>) -> Result<ExitCode, Error> {
    let place = Place::new(at);
    let mut releases = place.releases();
    let bad = releases.last().cloned().unwrap_or_else(|| "nothing".into());
    let good = match to {
        Some(to) => {
            match releases.iter().rposition(|r| r == to) {
                Some(i) => releases.truncate(i + 1),
                None => releases = vec![to.to_string()],
            }
            to.to_string()
        }
        None => {
            if releases.len() < 2 {
                return Err(Error::failed("demo: no previous release to go back to")
                    .with_detail(format!("release history: {}", releases.join(", ")))
                    .with_hint("name one: rollout demo-service rollback --to 1.0.0"));
            }
            releases.pop();
            releases.last().cloned().unwrap_or_default()
        }
    };
    start(&place, &good).await?;
    place.set_releases(&releases)?;
    place.set_percent(100)?;
    print_stdout(&format!(
        "rolled back {bad} → {good} on http://127.0.0.1:{}",
        at.port
    ))?;
    Ok(ExitCode::Ok)
}

pub fn promote(at: &DemoPort, percent: u8) -> Result<ExitCode, Error> {
    let place = Place::new(at);
    if place.running().is_none() {
        return Err(
            Error::failed(format!("demo: nothing serves on port {}", at.port))
                .with_hint("deploy first: rollout promote demo"),
        );
    }
    place.set_percent(percent)?;
    print_stdout(&format!("traffic on the new release: {percent}%"))?;
    Ok(ExitCode::Ok)
}

pub fn stop(at: &DemoPort) -> Result<ExitCode, Error> {
    let place = Place::new(at);
    match place.running() {
        Some(pid) => {
            halt(&place, pid);
            print_stdout(&format!(
                "stopped the demo service on port {} (pid {pid})",
                at.port
            ))?;
        }
        None => print_stdout(&format!("no demo service runs on port {}", at.port))?,
    }
    let _ = fs::remove_file(place.pid_file());
    Ok(ExitCode::Ok)
}

/// TERM, then KILL after 3 s; returns once the process is gone.
fn halt(place: &Place, pid: Pid) {
    let _ = kill(pid, Signal::SIGTERM);
    let start = Instant::now();
    while kill(pid, None).is_ok() && still_running(pid) {
        if start.elapsed() > Duration::from_secs(3) {
            let _ = kill(pid, Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = fs::remove_file(place.pid_file());
}

/// True while `pid` is still running (and not a zombie we could not reap: it is not our
/// child, so its parent, init, reaps it).
fn still_running(pid: Pid) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            !stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Replaces whatever serves on the port with `version`, and waits until it answers.
async fn start(place: &Place, version: &str) -> Result<(), Error> {
    if let Some(pid) = place.running() {
        halt(place, pid);
    }
    fs::create_dir_all(&place.dir)
        .map_err(|e| Error::failed(format!("cannot create {}: {e}", place.dir.display())))?;
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(place.log_file())
        .map_err(|e| Error::failed(format!("cannot open {}: {e}", place.log_file().display())))?;
    let err_log = log
        .try_clone()
        .map_err(|e| Error::failed(format!("cannot open {}: {e}", place.log_file().display())))?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::failed(format!("cannot find the rollout binary: {e}")))?;
    let mut command = Command::new(exe);
    command
        .arg("demo-service")
        .arg("serve")
        .arg("--port")
        .arg(place.port.to_string())
        .arg("--state")
        .arg(place.dir.parent().unwrap_or(&place.dir))
        .arg("--release")
        .arg(version)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log);
    detach(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| Error::failed(format!("cannot start the demo service: {e}")))?;
    write(&place.pid_file(), &format!("{}\n", child.id()))?;
    let deadline = Instant::now() + READY_WITHIN;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            // The service said why in its log (with its own hint): show that, once.
            let log = fs::read_to_string(place.log_file()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            let said = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
            let err = Error::failed(format!(
                "the demo service {version} exited at start ({status})"
            ));
            return Err(if said.contains("hint:") {
                err.with_detail(said)
            } else {
                err.with_detail(said).with_hint(format!(
                    "is port {} taken? choose another: --set port=N",
                    place.port
                ))
            });
        }
        if let Ok(response) = http::get(place.port, "/health", Duration::from_secs(1)).await
            && response
                .body
                .contains(&format!("\"version\":\"{version}\""))
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(Error::failed(format!(
        "the demo service {version} did not answer on port {} within {}s",
        place.port,
        READY_WITHIN.as_secs()
    ))
    .with_hint(format!("see {}", place.log_file().display())))
}

/// Its own session: no terminal's Ctrl-C, no process-group kill of the step reaches it.
fn detach(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe, and the closure touches nothing else.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
}
