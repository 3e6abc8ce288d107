//! Where the backend is: `ROLLOUT_BACKEND_URL` or rollout.toml's `[backend] url`, with
//! libpq's environment variables filling in what the URL leaves out, as `psql` would
//! (https://www.postgresql.org/docs/current/libpq-envars.html), and TLS through rustls.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::Error;

/// The environment variable that names the backend; it wins over rollout.toml.
pub const URL_VAR: &str = "ROLLOUT_BACKEND_URL";
const DEFAULT_SCHEMA: &str = "rollout";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A backend's connection settings, its project and schema, and how to name it.
#[derive(Clone)]
pub struct PgConfig {
    pg: Config,
    /// `postgres://user@host:port/db`: never the password.
    pub name: String,
    pub project: String,
    pub schema: String,
    /// `verify-ca`/`verify-full` were asked for; rustls verifies in every TLS mode.
    root_cert: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not `pg`: its Debug would print the password.
        f.debug_struct("PgConfig")
            .field("name", &self.name)
            .field("project", &self.project)
            .field("schema", &self.schema)
            .finish()
    }
}

/// Reads one environment variable, empty meaning unset (as libpq does).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

impl PgConfig {
    /// The configured backend, if any: `url` from the environment or rollout.toml.
    /// `default_project` is the root's folder name. A URL that cannot be parsed is exit 2.
    pub fn resolve(
        settings: &crate::project::BackendSettings,
        default_project: &str,
        env: Env<'_>,
    ) -> Result<Option<PgConfig>, Error> {
        let (url, from) = match (env(URL_VAR), &settings.url) {
            (Some(url), _) => (url, URL_VAR),
            (None, Some(url)) => (url.clone(), "[backend] url in rollout.toml"),
            (None, None) => return Ok(None),
        };
        let (url, asked_mode) = take_sslmode(&url);
        let mut pg: Config = url.parse().map_err(|err: tokio_postgres::Error| {
            Error::usage(format!(
                "{from} is not a PostgreSQL URL: {}",
                super::describe(&err)
            ))
            .with_hint(
                "write it as postgres://USER@HOST:PORT/DATABASE (the password in PGPASSWORD)",
            )
        })?;
        fill_from_env(&mut pg, env);
        let mode = asked_mode.or_else(|| env("PGSSLMODE"));
        match mode.as_deref() {
            None => {}
            Some("disable") => {
                pg.ssl_mode(SslMode::Disable);
            }
            Some("allow" | "prefer") => {
                pg.ssl_mode(SslMode::Prefer);
            }
            Some("require" | "verify-ca" | "verify-full") => {
                pg.ssl_mode(SslMode::Require);
            }
            Some(other) => {
                return Err(
                    Error::usage(format!("sslmode `{other}` is not one libpq knows"))
                        .with_hint("use disable, prefer, require, verify-ca or verify-full"),
                );
            }
        }
        pg.application_name("rollout");
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(CONNECT_TIMEOUT);
        }
        // A holder whose machine vanishes loses its lock within seconds, not hours.
        pg.keepalives(true)
            .keepalives_idle(Duration::from_secs(5))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3);
        let project = settings
            .project
            .clone()
            .unwrap_or_else(|| default_project.to_string());
        let schema = settings
            .schema
            .clone()
            .unwrap_or_else(|| DEFAULT_SCHEMA.to_string());
        Ok(Some(PgConfig {
            name: display_name(&pg),
            pg,
            project,
            schema,
            root_cert: env("PGSSLROOTCERT").map(Into::into),
        }))
    }

    /// Opens one connection; the task driving it is spawned on the database runtime and
    /// `ended` hears how it ended (for the lock, whose connection is the lock).
    pub(crate) fn connect_watched(
        &self,
    ) -> Result<(Client, tokio::sync::oneshot::Receiver<String>), String> {
        let pg = self.pg.clone();
        let tls = self.tls()?;
        super::run(async move {
            let (client, connection) = pg.connect(tls).await.map_err(|e| super::describe(&e))?;
            let (tx, rx) = tokio::sync::oneshot::channel();
            super::spawn(async move {
                let why = match connection.await {
                    Ok(()) => "the connection was closed".to_string(),
                    Err(err) => super::describe(&err),
                };
                let _ = tx.send(why);
            });
            Ok((client, rx))
        })
    }

    pub(crate) fn connect(&self) -> Result<Client, String> {
        self.connect_watched().map(|(client, _)| client)
    }

    /// The error every command but an emergency rollback stops with when the backend
    /// cannot be used (exit 1).
    pub fn down(&self, why: &str) -> Error {
        Error::failed(format!("the backend {} cannot be used: {why}", self.name))
            .with_detail("nothing was run; the team's lock, state and log live there")
            .with_hint(
                "check that the database is up and reachable (ROLLOUT_BACKEND_URL or \
                 [backend] url, PGPASSWORD and the other PG* variables); \
                 `rollout rollback RUNBOOK --emergency` still runs, with local state",
            )
    }

    /// The password it will send, if any (for tests).
    #[cfg(test)]
    pub(crate) fn password(&self) -> Option<Vec<u8>> {
        self.pg.get_password().map(<[u8]>::to_vec)
    }

    fn tls(&self) -> Result<MakeRustlsConnect, String> {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(path) = &self.root_cert {
            add_pem(&mut roots, path)?;
        } else {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
        }
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(Arc::new(roots))
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

fn add_pem(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("PGSSLROOTCERT {}: {e}", path.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("PGSSLROOTCERT {}: {e}", path.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("PGSSLROOTCERT {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Takes `sslmode=…` out of a URL or key=value string: tokio-postgres knows only three of
/// libpq's modes, and rustls verifies the server in all of them.
fn take_sslmode(url: &str) -> (String, Option<String>) {
    let Ok(re) = regex::Regex::new(r"([?&]|^|\s)sslmode=([A-Za-z-]*)") else {
        return (url.to_string(), None);
    };
    let Some(caps) = re.captures(url) else {
        return (url.to_string(), None);
    };
    let mode = caps.get(2).map(|m| m.as_str().to_string());
    let whole = caps.get(0).map(|m| m.range()).unwrap_or(0..0);
    let lead = caps.get(1).map(|m| m.as_str()).unwrap_or("");
    let mut rest = String::new();
    rest.push_str(&url[..whole.start]);
    let tail = &url[whole.end..];
    // `?sslmode=x&a=b` keeps `?a=b`; `&sslmode=x` just goes.
    if lead == "?" {
        match tail.strip_prefix('&') {
            Some(more) => {
                rest.push('?');
                rest.push_str(more);
            }
            None => rest.push_str(tail),
        }
    } else {
        // `&sslmode=x` goes whole; in `host=h sslmode=x` the space before it stays.
        if lead != "&" {
            rest.push_str(lead);
        }
        rest.push_str(tail);
    }
    (rest, mode)
}

/// libpq's environment variables, for what the URL does not say.
fn fill_from_env(pg: &mut Config, env: Env<'_>) {
    if pg.get_hosts().is_empty() {
        let hosts = env("PGHOST").unwrap_or_else(|| "localhost".to_string());
        for host in hosts.split(',') {
            if host.starts_with('/') {
                pg.host_path(host);
            } else {
                pg.host(host);
            }
        }
    }
    if pg.get_ports().is_empty()
        && let Some(port) = env("PGPORT").and_then(|p| p.parse::<u16>().ok())
    {
        pg.port(port);
    }
    if pg.get_user().is_none() {
        pg.user(env("PGUSER").unwrap_or_else(crate::identity::user));
    }
    if pg.get_dbname().is_none() {
        let db = env("PGDATABASE").or_else(|| pg.get_user().map(str::to_string));
        if let Some(db) = db {
            pg.dbname(db);
        }
    }
    if pg.get_password().is_none()
        && let Some(password) = env("PGPASSWORD")
    {
        pg.password(password);
    }
    if pg.get_password().is_none()
        && let Some(password) = super::passfile::password(pg, env)
    {
        pg.password(password);
    }
    if let Some(secs) = env("PGCONNECT_TIMEOUT").and_then(|s| s.parse::<u64>().ok())
        && secs > 0
    {
        pg.connect_timeout(Duration::from_secs(secs.max(2)));
    }
}

/// `postgres://user@host:port/db`, built from the parsed settings, so a password in the
/// URL can never be part of it.
fn display_name(pg: &Config) -> String {
    let host = match pg.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        pg.get_user().unwrap_or(""),
        pg.get_dbname().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::BackendSettings;
    use std::collections::HashMap;

    fn resolve(url: Option<&str>, vars: &[(&str, &str)]) -> Result<Option<PgConfig>, Error> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let settings = BackendSettings {
            url: url.map(str::to_string),
            ..BackendSettings::default()
        };
        PgConfig::resolve(&settings, "shop", &|k| vars.get(k).cloned())
    }

    #[test]
    fn no_url_is_no_backend() {
        assert!(resolve(None, &[("PGHOST", "db")]).unwrap().is_none());
    }

    #[test]
    fn the_environment_wins_and_the_name_never_holds_the_password() {
        let config = resolve(
            Some("postgres://toml@a/x"),
            &[(URL_VAR, "postgres://ops:s3cret@db.example:6543/deploys")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(config.name, "postgres://ops@db.example:6543/deploys");
        assert_eq!(config.project, "shop");
        assert_eq!(config.schema, "rollout");
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn libpq_variables_fill_what_the_url_leaves_out() {
        let config = resolve(
            Some("postgres://"),
            &[
                ("PGHOST", "/tmp/sock"),
                ("PGPORT", "7777"),
                ("PGUSER", "deploy"),
                ("PGPASSWORD", "pw"),
                ("PGSSLMODE", "verify-full"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(config.name, "postgres://deploy@/tmp/sock:7777/deploy");
        assert_eq!(config.pg.get_password(), Some(&b"pw"[..]));
        assert_eq!(config.pg.get_ssl_mode(), SslMode::Require);
    }

    #[test]
    fn sslmode_is_taken_out_of_the_url() {
        assert_eq!(
            take_sslmode("postgres://h/db?sslmode=verify-full&x=1"),
            (
                "postgres://h/db?x=1".to_string(),
                Some("verify-full".into())
            )
        );
        assert_eq!(
            take_sslmode("postgres://h/db?a=1&sslmode=require"),
            ("postgres://h/db?a=1".to_string(), Some("require".into()))
        );
        assert_eq!(
            take_sslmode("host=h sslmode=disable dbname=d"),
            ("host=h  dbname=d".to_string(), Some("disable".into()))
        );
        assert_eq!(
            take_sslmode("postgres://h/db"),
            ("postgres://h/db".to_string(), None)
        );
        let err = resolve(Some("postgres://h/db?sslmode=bogus"), &[])
            .err()
            .unwrap();
        assert!(err.headline.contains("bogus"));
    }

    #[test]
    fn a_bad_url_is_exit_2_without_echoing_it() {
        let err = resolve(Some("postgres://u:pw@h:notaport/db"), &[])
            .err()
            .unwrap();
        assert_eq!(err.code.code(), 2);
        assert!(!err.headline.contains("pw"), "{}", err.headline);
    }
}
