//! The team backend (SPEC §9) against a REAL PostgreSQL server started by each test
//! (tests/e2e/pg_server.rs). Two project directories sharing one database stand for two
//! machines, with two operators (`USER=alice`, `USER=bob`): they can never run the same
//! runbook at once and always see the same state, history and log.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::pg_server::{PASSWORD, PgServer};
use crate::support::{Bench, Run};

const WAIT: Duration = Duration::from_secs(20);

/// A long run: a change, then a soak that holds the lock, and a way back.
const LONG: &str = r#"
[[steps]]
kind = "run"
cmd = "deployer deploy"

[[steps]]
kind = "soak"
duration = "60s"

[[rollback]]
kind = "run"
cmd = "deployer undo"
"#;

const QUICK: &str = r#"
[[steps]]
kind = "run"
cmd = "deployer deploy"

[[rollback]]
kind = "run"
cmd = "deployer undo"
"#;

/// One "machine": its own project directory and operator, the shared database.
struct Machine {
    bench: Bench,
    user: &'static str,
}

impl Machine {
    fn new(server: &PgServer, db: &str, user: &'static str, project: &str) -> Machine {
        let bench = Bench::new();
        bench.fake("deployer");
        bench.file(
            "rollout.toml",
            &format!(
                "[backend]\nurl = \"{}\"\nproject = \"{project}\"\n",
                server.url(db)
            ),
        );
        Machine { bench, user }
    }

    fn runbook(&self, name: &str, toml: &str) -> &Machine {
        self.bench.runbook(name, toml);
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.bench.command(args);
        cmd.env("USER", self.user).env("PGPASSWORD", PASSWORD);
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run(self.command(args).output().expect("run rollout"))
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rollout")
    }

    /// Waits until `rollout status RUNBOOK` here says `text`.
    fn wait_status(&self, runbook: &str, text: &str) -> bool {
        self.bench.wait_for(WAIT, |_| {
            self.run(&["status", runbook]).stdout().contains(text)
        })
    }
}

fn start() -> Option<(PgServer, String)> {
    let server = PgServer::start()?;
    let db = server.database("team");
    Some((server, db))
}

fn finished(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Two machines of project `shop`; alice's long run of `app` holds the lock, and bob
/// sees it held.
fn alice_holds_the_lock(server: &PgServer, db: &str) -> (Machine, Machine, Child) {
    let a = Machine::new(server, db, "alice", "shop");
    let b = Machine::new(server, db, "bob", "shop");
    a.runbook("app", LONG);
    b.runbook("app", LONG);
    let first = a.spawn(&["promote", "app"]);
    assert!(
        b.wait_status("app", "locked by alice@"),
        "B never saw A's lock"
    );
    (a, b, first)
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_run_on_one_machine_locks_the_runbook_on_the_other_naming_the_holder() {
    let Some((server, db)) = start() else { return };
    let (_a, b, mut first) = alice_holds_the_lock(&server, &db);
    b.run(&["promote", "app"])
        .status(3)
        .stderr_has("locked by alice@")
        .stderr_has(&format!("pid {}", first.id()))
        .stderr_has("rollout promote app")
        .stderr_has("--emergency` on any machine stops it");
    b.run(&["rollback", "app"])
        .status(3)
        .stderr_has("locked by alice@");
    b.run(&["promote", "app", "--dry-run"])
        .status(3)
        .stderr_has("locked by alice@");
    b.run(&["rollback", "app", "--emergency", "--dry-run"])
        .status(0)
        .stdout_has("would take the lock from alice@");
    assert!(
        first.try_wait().expect("try_wait").is_none(),
        "A still runs"
    );
    // Nothing of B's ran.
    assert!(b.bench.calls().is_empty());
    kill(&mut first);
}

#[test]
fn sigkill_of_the_holder_frees_the_lock_at_once() {
    let Some((server, db)) = start() else { return };
    let (_a, b, mut first) = alice_holds_the_lock(&server, &db);
    kill(&mut first);
    // The server ends the killed client's session as soon as its socket closes.
    assert!(
        b.bench.wait_for(Duration::from_secs(3), |_| {
            !b.run(&["status", "app"]).stdout().contains("locked by")
        }),
        "the lock outlived its holder"
    );
    b.run(&["rollback", "app"]).status(0);
    assert_eq!(b.bench.calls(), vec!["deployer [undo]"]);
}

#[test]
fn status_history_and_log_read_the_database_from_the_other_machine() {
    let Some((server, db)) = start() else { return };
    let a = Machine::new(&server, &db, "alice", "shop");
    let b = Machine::new(&server, &db, "bob", "shop");
    a.runbook("app", QUICK);
    b.runbook("app", QUICK);
    a.run(&["promote", "app"]).status(0);
    let state = a.bench.state("app");
    let run_id = state["run_id"].as_str().expect("run id").to_string();
    b.run(&["status", "app"])
        .status(0)
        .stdout_has(&run_id)
        .stdout_has("alice");
    b.run(&["history", "app"]).status(0).stdout_has(&run_id);
    b.run(&["list"]).status(0).stdout_has("app");
    let log = b.run(&["log", "--runbook", "app"]);
    log.status(0)
        .stdout_has("RUN STARTED")
        .stdout_has("STEP OK");
    // A's local file log is still written, and `--log` reads it; B has none of its own.
    assert!(a.bench.log().contains("RUN STARTED"));
    assert!(!b.bench.path("reliability.log").exists());
    a.run(&["log", "--log", "reliability.log"])
        .status(0)
        .stdout_has("RUN STARTED");
    let own = b.run(&["log", "--log", "reliability.log"]);
    own.status(0);
    assert!(!own.stdout().contains("RUN STARTED"), "{}", own.stdout());
    // B's rollback continues A's run, and A sees it.
    b.run(&["rollback", "app"]).status(0);
    a.run(&["history", "app"])
        .status(0)
        .stdout_has("rolled_back");
    a.run(&["log", "--runbook", "app", "--event", "rollback complete"])
        .status(0)
        .stdout_has("bob");
    // The schema was created on first use, at its version.
    assert_eq!(
        server
            .psql(&db, "SELECT max(version) FROM rollout.schema_version")
            .expect("version"),
        "1"
    );
    // A note from either machine is a row the other reads, also while following.
    let followed = a.bench.path("followed.txt");
    let mut follow = a
        .command(&["log", "--follow"])
        .stdout(std::fs::File::create(&followed).expect("file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    b.run(&["log", "note", "checked by bob"]).status(0);
    a.run(&["log"]).status(0).stdout_has("checked by bob");
    let seen = a.bench.wait_for(Duration::from_secs(5), |bench| {
        std::fs::read_to_string(bench.path("followed.txt"))
            .unwrap_or_default()
            .contains("checked by bob")
    });
    kill(&mut follow);
    assert!(seen, "log --follow never showed B's note");
}

#[test]
fn a_run_that_failed_on_one_machine_resumes_on_the_other() {
    let Some((server, db)) = start() else { return };
    let a = Machine::new(&server, &db, "alice", "shop");
    let b = Machine::new(&server, &db, "bob", "shop");
    let runbook = "auto_rollback = false\n\n[[steps]]\nkind = \"run\"\ncmd = \"deployer deploy\"\n\n\
                   [[steps]]\nkind = \"run\"\ncmd = \"deployer check\"\n";
    a.runbook("app", runbook);
    b.runbook("app", runbook);
    a.bench.tell("deployer", "check", "exit", "1");
    a.run(&["promote", "app"]).status(1);
    b.run(&["status", "app"]).status(0).stdout_has("failed");
    b.run(&["resume", "app"]).status(0);
    // B went on from the failed step: the deploy A did is not done again.
    assert_eq!(b.bench.calls(), vec!["deployer [check]"]);
    assert_eq!(
        a.bench.calls(),
        vec!["deployer [deploy]", "deployer [check]"]
    );
    a.run(&["history", "app"]).status(0).stdout_has("completed");
}

#[test]
fn an_emergency_rollback_on_one_machine_takes_over_a_run_on_the_other() {
    let Some((server, db)) = start() else { return };
    let (a, b, first) = alice_holds_the_lock(&server, &db);
    assert!(
        a.bench
            .wait_for(WAIT, |bench| bench.log().contains("STEP OK"))
    );
    let started = std::time::Instant::now();
    b.run(&["rollback", "app", "--emergency"])
        .status(0)
        .stderr_has("took the lock of `app` from alice@");
    let (code, _, told) = finished(first);
    assert_eq!(code, 130, "{told}");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(told.contains("taken over by bob@"), "{told}");
    assert!(told.contains("rollback app --emergency"), "{told}");
    // B's rollback ran on B; A's deploy on A.
    assert_eq!(b.bench.calls(), vec!["deployer [undo]"]);
    assert_eq!(a.bench.calls(), vec!["deployer [deploy]"]);
    // A recorded itself interrupted in its local log and in the shared one.
    assert!(a.bench.log_events().contains(&"INTERRUPTED".to_string()));
    b.run(&["log", "--runbook", "app"])
        .status(0)
        .stdout_has("INTERRUPTED")
        .stdout_has("EMERGENCY ROLLBACK COMPLETE");
    a.run(&["status", "app"])
        .status(0)
        .stdout_has("rolled back");
    // B's local copy of the run folds on its own, A's step and all: what an emergency
    // on B would go on with were the database down.
    let local = b.bench.state("app");
    assert_eq!(local["status"], "rolled_back", "{local}");
    assert_eq!(local["steps"][0]["name"], "run deployer deploy", "{local}");
}

#[test]
fn a_stale_holder_can_never_write_again() {
    let Some((server, db)) = start() else { return };
    let (a, b, first) = alice_holds_the_lock(&server, &db);
    // A freezes (a laptop lid closed): it cannot notice anything until it wakes up.
    let pid = nix::unistd::Pid::from_raw(first.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("stop");
    b.run(&["rollback", "app", "--emergency"]).status(0);
    b.run(&["status", "app"])
        .status(0)
        .stdout_has("rolled back");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).expect("cont");
    let (code, _, told) = finished(first);
    assert_eq!(code, 130, "{told}");
    assert!(
        told.contains("the backend refused a record") && told.contains("no longer holds the lock"),
        "{told}"
    );
    // The shared state is still B's: A's "interrupted" was refused, kept only locally.
    b.run(&["status", "app"])
        .status(0)
        .stdout_has("rolled back");
    let local = a.bench.state("app");
    assert_eq!(local["status"], "interrupted", "{local}");
}

#[test]
fn a_database_stopped_mid_run_interrupts_it_and_only_an_emergency_goes_on() {
    let Some((mut server, db)) = start() else {
        return;
    };
    let a = Machine::new(&server, &db, "alice", "shop");
    a.runbook("app", LONG);
    let first = a.spawn(&["promote", "app"]);
    assert!(a.wait_status("app", "locked by alice@"));
    assert!(
        a.bench
            .wait_for(WAIT, |bench| bench.log().contains("STEP OK"))
    );
    server.stop();
    let (code, _, told) = finished(first);
    assert_eq!(code, 130, "{told}");
    assert!(told.contains("lost the lock of `app`"), "{told}");
    // Its last record is said not stored: refused (the lock's session ended first) or
    // not reachable (the data connection ended first); either way it is kept locally.
    assert!(
        told.contains("could not be stored") || told.contains("refused a record"),
        "{told}"
    );
    assert!(told.contains("kept only in"), "{told}");
    assert_eq!(a.bench.state("app")["status"], "interrupted");
    let backend = server.url(&db);
    for args in [
        vec!["status", "app"],
        vec!["history", "app"],
        vec!["promote", "app"],
        vec!["resume", "app"],
        vec!["rollback", "app"],
        vec!["log"],
    ] {
        a.run(&args)
            .status(1)
            .stderr_has(&format!("the backend {backend} cannot be used"));
    }
    let run = a.run(&["rollback", "app", "--emergency"]);
    run.status(0)
        .stderr_has(&format!("the backend {backend} cannot be used"))
        .stderr_has("goes on with local state")
        .stderr_has("could not be stored");
    assert_eq!(
        a.bench.calls(),
        vec!["deployer [deploy]", "deployer [undo]"]
    );
    assert!(a.bench.log().contains("EMERGENCY ROLLBACK COMPLETE"));
    assert_eq!(a.bench.state("app")["status"], "rolled_back");
}

#[test]
fn the_password_never_reaches_output_state_or_log() {
    let Some((server, db)) = start() else { return };
    let a = Machine::new(&server, &db, "alice", "shop");
    a.runbook("app", QUICK);
    // In the URL itself this time, not in PGPASSWORD.
    let with_password = format!(
        "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{db}",
        server.port
    );
    let run = |args: &[&str], url: &str| {
        let mut cmd = a.bench.command(args);
        cmd.env("USER", "alice").env("ROLLOUT_BACKEND_URL", url);
        Run(cmd.output().expect("run"))
    };
    let mut seen = String::new();
    for args in [
        &["promote", "app"][..],
        &["status", "app"],
        &["history", "app"],
        &["log"],
        &["status", "app", "--json"],
    ] {
        let out = run(args, &with_password);
        out.status(0);
        seen.push_str(&out.stdout());
        seen.push_str(&out.stderr());
    }
    // A wrong password: exit 1, the backend named, neither password shown.
    let wrong = format!(
        "postgres://postgres:Wr0ng-pw@127.0.0.1:{}/{db}",
        server.port
    );
    let out = run(&["status", "app"], &wrong);
    out.status(1)
        .stderr_has(&format!(
            "postgres://postgres@127.0.0.1:{}/{db}",
            server.port
        ))
        .stderr_has("password authentication failed");
    assert!(!out.stderr().contains("Wr0ng-pw"), "{}", out.stderr());
    seen.push_str(&out.stderr());
    seen.push_str(&a.bench.log());
    for (_, bytes) in a.bench.state_files() {
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    seen.push_str(
        &server
            .psql(&db, "SELECT string_agg(line, E'\\n') FROM rollout.log")
            .expect("rows"),
    );
    seen.push_str(
        &server
            .psql(&db, "SELECT string_agg(record::text || holder::text, E'\\n') FROM rollout.records, rollout.locks")
            .expect("rows"),
    );
    assert!(seen.contains("RUN STARTED"), "{seen}");
    assert!(!seen.contains(PASSWORD), "the password leaked:\n{seen}");
}

#[test]
fn two_unrelated_projects_in_one_database_never_block_each_other() {
    let Some((server, db)) = start() else { return };
    let shop = Machine::new(&server, &db, "alice", "shop");
    let blog = Machine::new(&server, &db, "bob", "blog");
    shop.runbook("app", LONG);
    blog.runbook("app", QUICK);
    let mut first = shop.spawn(&["promote", "app"]);
    assert!(shop.wait_status("app", "locked by alice@"));
    // Same runbook name, same database, another project: its own lock, rows and log.
    blog.run(&["promote", "app"]).status(0);
    blog.run(&["status", "app"]).status(0).stdout_has("bob");
    let history = blog.run(&["history", "app"]);
    history.status(0);
    assert_eq!(
        history.stdout().matches("r-").count(),
        1,
        "{}",
        history.stdout()
    );
    assert!(!blog.run(&["log"]).stdout().contains("alice"));
    kill(&mut first);
}

#[test]
fn tls_through_rustls_verifies_the_server() {
    let Some(server) = PgServer::start_tls() else {
        return;
    };
    let db = server.database("team");
    let ca = server.ca.clone().expect("ca");
    let a = Machine::new(&server, &db, "alice", "shop");
    a.runbook("app", QUICK);
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = a.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run(cmd.output().expect("run"))
    };
    let ca = ca.display().to_string();
    // The server takes TCP clients over TLS only: plain text is turned away.
    run(&["status", "app"], &[("PGSSLMODE", "disable")])
        .status(1)
        .stderr_has("cannot be used")
        .stderr_has("no encryption");
    // Verified against the CA that signed it.
    run(
        &["promote", "app"],
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &ca)],
    )
    .status(0);
    run(
        &["status", "app"],
        &[("PGSSLMODE", "require"), ("PGSSLROOTCERT", &ca)],
    )
    .status(0)
    .stdout_has("alice");
    // Without that CA the server is not trusted, whatever the mode.
    run(&["status", "app"], &[("PGSSLMODE", "require")])
        .status(1)
        .stderr_has("cannot be used");
    let used = server
        .psql(&db, "SELECT count(*) FROM rollout.log")
        .expect("rows");
    assert_ne!(used, "0");
}

#[test]
fn the_schema_is_created_where_asked_and_a_newer_one_is_refused() {
    let Some((server, db)) = start() else { return };
    let a = Machine::new(&server, &db, "alice", "shop");
    a.runbook("app", QUICK);
    a.bench.file(
        "rollout.toml",
        &format!(
            "[backend]\nurl = \"{}\"\nschema = \"ops_rollout\"\n",
            server.url(&db)
        ),
    );
    a.run(&["promote", "app"]).status(0);
    // `project` defaults to the project folder's name.
    let folder = a
        .bench
        .root()
        .file_name()
        .expect("name")
        .to_string_lossy()
        .to_string();
    assert_eq!(
        server
            .psql(&db, "SELECT DISTINCT project FROM ops_rollout.runs")
            .expect("rows"),
        folder
    );
    assert!(server.psql(&db, "SELECT 1 FROM rollout.runs").is_err());
    // A newer rollout migrated it further: this one refuses rather than guess.
    server
        .psql(
            &db,
            "INSERT INTO ops_rollout.schema_version (version) VALUES (99)",
        )
        .expect("insert");
    a.run(&["status", "app"])
        .status(1)
        .stderr_has("the schema `ops_rollout` is at version 99, newer than this rollout knows");
}
