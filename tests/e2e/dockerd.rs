//! A Docker daemon of the test's own: Debian's `dockerd` as root, with its data, exec
//! root, pid file and socket in a temp dir, no bridge and no iptables (containers use
//! host networking). Dropping it stops the daemon and undoes every mount it left under
//! the temp dir. Tiny images are made without a registry: the static `busybox` in a
//! tar, `docker import`ed.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct Dockerd {
    dir: TempDir,
    child: Child,
    /// `unix:///…/docker.sock`, for DOCKER_HOST.
    pub host: String,
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

impl Dockerd {
    /// Starts a daemon, or says why it cannot (the caller skips with that message).
    pub fn start() -> Result<Dockerd, String> {
        if !nix::unistd::geteuid().is_root() {
            return Err("dockerd needs root".into());
        }
        for tool in ["dockerd", "docker", "docker-compose", "busybox", "tar"] {
            if !on_path(tool) {
                return Err(format!(
                    "`{tool}` is not installed (apt-get install docker.io docker-compose busybox-static)"
                ));
            }
        }
        let mut last = String::new();
        for driver in [None, Some("vfs")] {
            let dir = tempfile::Builder::new()
                .prefix("dkd")
                .tempdir()
                .map_err(|e| e.to_string())?;
            let sock = dir.path().join("docker.sock");
            let host = format!("unix://{}", sock.display());
            let log =
                fs::File::create(dir.path().join("dockerd.log")).map_err(|e| e.to_string())?;
            let mut cmd = Command::new("dockerd");
            cmd.arg("--data-root")
                .arg(dir.path().join("data"))
                .arg("--exec-root")
                .arg(dir.path().join("exec"))
                .arg("--pidfile")
                .arg(dir.path().join("dockerd.pid"))
                .arg("--host")
                .arg(&host)
                .args(["--bridge=none", "--iptables=false", "--ip6tables=false"]);
            if let Some(driver) = driver {
                cmd.arg(format!("--storage-driver={driver}"));
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log)
                .spawn()
                .map_err(|e| format!("dockerd does not start: {e}"))?;
            let mut daemon = Dockerd { dir, child, host };
            let until = Instant::now() + Duration::from_secs(30);
            while Instant::now() < until {
                if daemon
                    .docker(&["info", "--format", "{{.ServerVersion}}"])
                    .is_ok()
                {
                    return Ok(daemon);
                }
                if let Ok(Some(_)) = daemon.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            last = fs::read_to_string(daemon.dir.path().join("dockerd.log"))
                .unwrap_or_default()
                .lines()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .join(" / ");
        }
        Err(format!("dockerd did not come up: {last}"))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `docker ARGS…` against this daemon: stdout, or the error.
    pub fn docker(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", &self.host)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// An image `tag` holding the static busybox and `files` (path → content) under
    /// `/www`: `busybox httpd -h /www` serves them.
    pub fn image(&self, tag: &str, files: &[(&str, &str)]) {
        let root = self
            .dir
            .path()
            .join(format!("img-{}", tag.replace([':', '/'], "-")));
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::create_dir_all(root.join("www")).unwrap();
        let busybox = which("busybox");
        fs::copy(&busybox, root.join("bin/busybox")).unwrap();
        for (path, content) in files {
            fs::write(root.join("www").join(path), content).unwrap();
        }
        let tar = root.with_extension("tar");
        let ok = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap()
            .success();
        assert!(ok, "tar of {tag}");
        self.docker(&["import", &tar.to_string_lossy(), tag])
            .unwrap_or_else(|e| panic!("docker import {tag}: {e}"));
    }
}

fn which(name: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // Containers first (so none outlives the daemon), then the daemon itself.
        if let Ok(ids) = self.docker(&["ps", "-aq"])
            && !ids.is_empty()
        {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.lines());
            let _ = self.docker(&args);
        }
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // Whatever the daemon left mounted under its dirs (overlays, shm, netns),
        // deepest first.
        let prefix = self.dir.path().to_string_lossy().into_owned();
        let mut mounts: Vec<String> = fs::read_to_string("/proc/self/mounts")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
            .filter(|m| m.starts_with(&prefix))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
    }
}

/// A plain HTTP/1.0 GET on 127.0.0.1: the status code and the body.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Some((status, body))
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
