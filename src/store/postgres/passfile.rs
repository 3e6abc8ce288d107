//! `~/.pgpass` (or `PGPASSFILE`): where libpq finds a password the URL and `PGPASSWORD`
//! do not give (https://www.postgresql.org/docs/current/libpq-pgpass.html).

use std::path::Path;

use tokio_postgres::Config;
use tokio_postgres::config::Host;

use super::config::Env;

/// The password for this connection in `PGPASSFILE` (default `~/.pgpass`), as libpq
/// finds it: the first line `host:port:database:user:password` whose fields match, `*`
/// matching anything; a Unix socket matches `localhost`. As libpq does, a file that
/// others can read is ignored.
pub fn password(pg: &Config, env: Env<'_>) -> Option<String> {
    let path = env("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".pgpass")))?;
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o077 != 0
    {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match pg.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        _ => "localhost".to_string(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432).to_string();
    let wanted = [
        host.as_str(),
        port.as_str(),
        pg.get_dbname().unwrap_or(""),
        pg.get_user().unwrap_or(""),
    ];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| {
            let fields = passfile_fields(line);
            let [host, port, db, user, password] = fields.as_slice() else {
                return None;
            };
            [host, port, db, user]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field.as_str() == "*" || field.as_str() == want)
                .then(|| password.clone())
        })
        .next()
}

/// A .pgpass line's fields: `:` separates, `\:` and `\\` are literal.
fn passfile_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use crate::project::BackendSettings;
    use crate::store::postgres::PgConfig;
    use std::collections::HashMap;

    fn password(url: &str, vars: &[(&str, &str)]) -> Option<Vec<u8>> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let settings = BackendSettings {
            url: Some(url.to_string()),
            ..BackendSettings::default()
        };
        PgConfig::resolve(&settings, "shop", &|k| vars.get(k).cloned())
            .unwrap()
            .unwrap()
            .password()
    }

    #[test]
    fn the_password_can_come_from_a_passfile() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# team\nother:5432:*:ops:nope\ndb.example:*:deploys:ops:pa\\:ss\n*:*:*:*:fallback\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let passfile = file.display().to_string();
        assert_eq!(
            password(
                "postgres://ops@db.example/deploys",
                &[("PGPASSFILE", &passfile)]
            ),
            Some(b"pa:ss".to_vec())
        );
        assert_eq!(
            password("postgres://x@elsewhere/y", &[("PGPASSFILE", &passfile)]),
            Some(b"fallback".to_vec())
        );
        // PGPASSWORD wins; a file others can read is ignored, as libpq does.
        assert_eq!(
            password(
                "postgres://ops@db.example/deploys",
                &[("PGPASSFILE", &passfile), ("PGPASSWORD", "env")]
            ),
            Some(b"env".to_vec())
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            password(
                "postgres://ops@db.example/deploys",
                &[("PGPASSFILE", &passfile)]
            ),
            None
        );
    }
}
