//! A throwaway Docker engine for the compose tests: `dockerd` with its own data root,
//! exec root and socket in a temp dir, no bridge and no iptables (containers use the
//! host's network), images made without any registry (`docker import` of a tar holding
//! Debian's static busybox and a page naming the version). Stopped, its containers
//! removed and its mounts cleaned when dropped.

use std::io::Read;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct Engine {
    dir: TempDir,
    daemon: Child,
    pub host: String,
}

impl Engine {
    /// Starts one, or says why it cannot (the test then skips).
    pub fn start() -> Result<Engine, String> {
        if !nix::unistd::geteuid().is_root() {
            return Err("dockerd needs root here".into());
        }
        for tool in ["dockerd", "docker", "docker-compose", "busybox", "tar"] {
            if !on_path(tool) {
                return Err(format!(
                    "`{tool}` is not installed (Debian: docker.io, docker-compose, busybox-static)"
                ));
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("rollout-dockerd-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let p = |rel: &str| dir.path().join(rel).display().to_string();
        let host = format!("unix://{}", p("docker.sock"));
        let log =
            std::fs::File::create(dir.path().join("dockerd.log")).map_err(|e| e.to_string())?;
        let dockerd = which("dockerd").unwrap_or_else(|| "/usr/sbin/dockerd".into());
        let daemon = Command::new(dockerd)
            .args([
                "--data-root",
                &p("data"),
                "--exec-root",
                &p("exec"),
                "--pidfile",
                &p("dockerd.pid"),
                "--host",
                &host,
                "--bridge=none",
                "--iptables=false",
                "--ip-masq=false",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("dockerd did not start: {e}"))?;
        let engine = Engine { dir, daemon, host };
        let deadline = Instant::now() + Duration::from_secs(40);
        while Instant::now() < deadline {
            if engine
                .docker(&["info", "--format", "{{.ServerVersion}}"])
                .is_ok()
            {
                return Ok(engine);
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let log =
            std::fs::read_to_string(engine.dir.path().join("dockerd.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        Err(format!(
            "dockerd did not answer within 40s: {}",
            tail.join(" | ")
        ))
    }

    /// `docker ARGS…` against this engine; stdout, or why it failed.
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

    /// An image `name` with busybox and `/www/index.html` saying `page`.
    pub fn image(&self, name: &str, page: &str) {
        let root = self
            .dir
            .path()
            .join(format!("image-{}", name.replace([':', '/'], "-")));
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("www")).unwrap();
        let busybox = which("busybox").unwrap();
        std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
        std::fs::write(root.join("www/index.html"), page).unwrap();
        let tar = root.with_extension("tar");
        let status = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .args(["bin", "www"])
            .status()
            .unwrap();
        assert!(status.success());
        self.docker(&["import", &tar.display().to_string(), name])
            .expect("docker import");
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Ok(ids) = self.docker(&["ps", "-aq"]) {
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids);
                let _ = self.docker(&args);
            }
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.daemon.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.daemon.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        // Whatever the daemon left mounted under its folders (overlays, netns).
        let prefix = self.dir.path().display().to_string();
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut points: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|m| m.starts_with(&prefix))
            .collect();
        points.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for point in points {
            let _ = Command::new("umount").args(["-l", point]).status();
        }
    }
}

/// The body of `GET /` on 127.0.0.1:`port`, or "" when nothing answers.
pub fn page(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    use std::io::Write;
    let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.split("\r\n\r\n")
        .nth(1)
        .unwrap_or("")
        .trim()
        .to_string()
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

fn on_path(tool: &str) -> bool {
    which(tool).is_some() || std::path::Path::new(&format!("/usr/sbin/{tool}")).is_file()
}
