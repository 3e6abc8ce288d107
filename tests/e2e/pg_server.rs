//! A throwaway REAL PostgreSQL server for the team-backend tests (Debian's `postgresql`
//! package): `initdb` into a temp dir as an unprivileged user (as root: the `postgres`
//! user, through `setpriv`, which execs without forking so the child is the postmaster
//! itself), listening on 127.0.0.1 on a free port and on a Unix socket in the temp dir;
//! stopped when dropped, also when a test panics. `None`, saying so, where PostgreSQL
//! cannot be found or started (`.ci/run` installs it).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The superuser's password: tests check it never shows in output or logs.
pub const PASSWORD: &str = "pg-Secret-7fq2";
const STARTUP: Duration = Duration::from_secs(30);

pub struct PgServer {
    child: Option<Child>,
    /// The CA that signed the server's certificate, when it serves TLS only.
    pub ca: Option<PathBuf>,
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    /// `Some((uid, gid))` when the server runs as another user.
    user: Option<(u32, u32)>,
}

impl PgServer {
    pub fn start() -> Option<PgServer> {
        PgServer::start_with(false)
    }

    /// A server that accepts TCP clients over TLS only (`hostssl` in pg_hba.conf), with
    /// a certificate for 127.0.0.1 signed by a throwaway CA (`ca`), made with the
    /// `openssl` command; `None`, saying so, where that is missing.
    pub fn start_tls() -> Option<PgServer> {
        PgServer::start_with(true)
    }

    fn start_with(tls: bool) -> Option<PgServer> {
        let Some(bin) = bin_dir() else {
            eprintln!(
                "skipped: PostgreSQL is not installed (apt-get install postgresql; or set ROLLOUT_PG_BIN to its bin/)"
            );
            return None;
        };
        let user = if nix_is_root() {
            match id_of("postgres") {
                Some(ids) => Some(ids),
                None => {
                    eprintln!(
                        "skipped: running as root and there is no `postgres` user to run PostgreSQL as"
                    );
                    return None;
                }
            }
        } else {
            None
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, format!("{PASSWORD}\n")).expect("pwfile");
        if let Some((uid, gid)) = user {
            for path in [dir.path(), &pwfile] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
            }
        }
        let mut server = PgServer {
            child: None,
            ca: None,
            bin,
            port: free_port(),
            dir,
            user,
        };
        let initdb = server
            .as_server_user(&server.bin.join("initdb"))
            .arg("-D")
            .arg(server.data())
            .args(["-U", "postgres", "-N", "-A", "scram-sha-256"])
            .arg("--auth-local=trust")
            .arg(format!("--pwfile={}", pwfile.display()))
            .output();
        match initdb {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                eprintln!(
                    "skipped: initdb failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                return None;
            }
            Err(err) => {
                eprintln!("skipped: cannot run initdb: {err}");
                return None;
            }
        }
        if tls && !server.make_tls() {
            return None;
        }
        if !server.launch() {
            return None;
        }
        Some(server)
    }

    /// A CA, a server certificate for 127.0.0.1 signed by it, `ssl = on`, and TCP
    /// clients let in over TLS only.
    fn make_tls(&mut self) -> bool {
        let dir = self.dir.path().to_path_buf();
        let openssl = |args: &[&str]| {
            Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .expect("ext");
        let made = openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=rollout test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]) && openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]) && openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ]);
        if !made {
            eprintln!("skipped: cannot make test certificates (is `openssl` installed?)");
            return false;
        }
        use std::os::unix::fs::PermissionsExt;
        for file in ["server.key", "server.crt"] {
            let path = dir.join(file);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
            if let Some((uid, gid)) = self.user {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown");
            }
        }
        let data = self.data();
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        conf.push_str(&format!(
            "\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            dir.join("server.crt").display(),
            dir.join("server.key").display()
        ));
        std::fs::write(data.join("postgresql.conf"), conf).expect("conf");
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
        )
        .expect("hba");
        self.ca = Some(dir.join("ca.crt"));
        true
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    fn as_server_user(&self, program: &Path) -> Command {
        match self.user {
            Some((uid, gid)) => {
                let mut cmd = Command::new("setpriv");
                cmd.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }

    /// Starts the postmaster and waits until it answers; false (said) if it does not.
    fn launch(&mut self) -> bool {
        let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log");
        if let Some((uid, gid)) = self.user {
            let _ =
                std::os::unix::fs::chown(self.dir.path().join("server.log"), Some(uid), Some(gid));
        }
        let child = self
            .as_server_user(&self.bin.join("postgres"))
            .arg("-D")
            .arg(self.data())
            .arg("-k")
            .arg(self.dir.path())
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-c", "fsync=off", "-c", "max_connections=60"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn();
        match child {
            Ok(child) => self.child = Some(child),
            Err(err) => {
                eprintln!("skipped: cannot start postgres: {err}");
                return false;
            }
        }
        let until = Instant::now() + STARTUP;
        while Instant::now() < until {
            if self.psql("postgres", "SELECT 1").is_ok() {
                return true;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                eprintln!(
                    "skipped: postgres exited ({status}): {}",
                    std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
                );
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("skipped: postgres did not answer within {STARTUP:?}");
        false
    }

    /// Runs `sql` with psql over TCP; its output, unaligned, tuples only.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out: Output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", db, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .env("PGCONNECT_TIMEOUT", "2")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    }

    /// A fresh database for one test.
    pub fn database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .expect("create database");
        name.to_string()
    }

    /// The backend URL of `db`, without the password (it goes in PGPASSWORD).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Stops the server now (fast shutdown: sessions are ended, as when a database
    /// is taken down under its clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGINT is PostgreSQL's "fast" shutdown.
            let _ = nix_kill(child.id(), nix::sys::signal::Signal::SIGINT);
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("ROLLOUT_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| d.join("postgres").is_file());
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|d| d.join("postgres").is_file() && d.join("initdb").is_file())
        .collect();
    // The newest version: directories are named by major version.
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn nix_is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn id_of(user: &str) -> Option<(u32, u32)> {
    let user = nix::unistd::User::from_name(user).ok()??;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

fn nix_kill(pid: u32, signal: nix::sys::signal::Signal) -> nix::Result<()> {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
