//! systemd units through `systemctl`: releases are directories, made live by
//! repointing the `current` symlink atomically and restarting; flags are drop-ins.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Argv, Call, Change, Failure, Runner, Running, argv, display};
use crate::plan::{AdapterSettings, Text, Verb};

/// The systemctl adapter and its settings.
pub struct Systemctl {
    pub bin: String,
    pub user: bool,
    pub sudo: bool,
    /// The symlink that points at the live release.
    pub current: Option<PathBuf>,
    pub dropin_dir: Option<PathBuf>,
    home: Option<String>,
}

impl Systemctl {
    pub fn new(
        bin: String,
        settings: &AdapterSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Systemctl {
        Systemctl {
            bin,
            user: settings.user.unwrap_or(false),
            sudo: settings.sudo.unwrap_or(false),
            current: settings.current.clone(),
            dropin_dir: settings.dropin_dir.clone(),
            home: env("HOME"),
        }
    }

    /// `[sudo -n] systemctl [--user] ARGS…`.
    pub fn cmd(&self, args: Vec<Text>) -> Argv {
        let mut out = Vec::new();
        if self.sudo {
            out.extend(argv(&["sudo", "-n"]));
        }
        out.push(Text::plain(&self.bin));
        if self.user {
            out.push(Text::plain("--user"));
        }
        out.extend(args);
        out
    }

    fn verb(&self, verb: &str, unit: &Text) -> Argv {
        self.cmd(vec![Text::plain(verb), unit.clone()])
    }

    /// Where the flag drop-in goes: `dropin_dir`, else the unit's `.d` folder.
    pub fn dropin_path(&self, unit: &Text, flag: &str) -> PathBuf {
        let name = unit_file(unit.value());
        let dir = match (&self.dropin_dir, self.user, &self.home) {
            (Some(dir), _, _) => dir.clone(),
            (None, true, Some(home)) => Path::new(home)
                .join(".config/systemd/user")
                .join(format!("{name}.d")),
            (None, _, _) => PathBuf::from("/etc/systemd/system").join(format!("{name}.d")),
        };
        dir.join(format!("rollout-{flag}.conf"))
    }

    pub fn describe(&self, verb: &Verb, unit: &Text) -> Vec<String> {
        let current = match &self.current {
            Some(c) => c.display().to_string(),
            None => "<[adapters.systemctl] current is not set>".to_string(),
        };
        let live = |release: &str| {
            vec![
                format!("ln -sfn {release} {current}  (atomically: a temporary link, then rename)"),
                display(&self.verb("restart", unit)),
                display(&self.verb("is-active", unit)),
            ]
        };
        match verb {
            Verb::Auth => vec![display(&self.auth_argv(unit))],
            Verb::Deploy(d) => live(d.release.as_ref().map(Text::shown).unwrap_or("<release>")),
            Verb::Rollback { to } => live(
                to.as_ref()
                    .map(Text::shown)
                    .unwrap_or("<the stable release pinned before the run changed the unit>"),
            ),
            Verb::Restart => vec![display(&self.verb("restart", unit))],
            Verb::Scale { count } => vec![display(&self.scale_argv(*count, unit))],
            Verb::Promote { flag, .. } => {
                let name = flag.as_ref().map(Text::shown).unwrap_or("flags");
                let lines: Vec<String> = verb
                    .promote_pairs()
                    .iter()
                    .map(|p| format!("Environment={}", p.shown()))
                    .collect();
                vec![
                    format!(
                        "write {}: [Service] {}",
                        self.dropin_path(unit, name).display(),
                        lines.join(" ")
                    ),
                    display(&self.cmd(argv(&["daemon-reload"]))),
                    display(&self.verb("restart", unit)),
                ]
            }
        }
    }

    fn auth_argv(&self, unit: &Text) -> Argv {
        self.cmd(vec![
            Text::plain("show"),
            unit.clone(),
            Text::plain("--property=LoadState"),
        ])
    }

    fn scale_argv(&self, count: u32, unit: &Text) -> Argv {
        self.verb(if count == 0 { "stop" } else { "start" }, unit)
    }

    pub async fn execute(&self, call: &Call<'_>, runner: &Runner<'_>) -> Result<Change, Failure> {
        let unit = call.target;
        match call.verb {
            Verb::Auth => {
                let out = runner.run(&self.auth_argv(unit)).await?;
                if out.output.lines().any(|l| l.trim() == "LoadState=loaded") {
                    Ok(Change::None)
                } else {
                    Err(Failure::Failed {
                        message: format!(
                            "unit `{unit}` is not loaded ({}); check the unit name and that its file is installed",
                            out.output.trim()
                        ),
                        tail: out.tail,
                    })
                }
            }
            Verb::Deploy(d) => {
                let release = d
                    .release
                    .as_ref()
                    .ok_or_else(|| Failure::failed("a systemctl deploy needs `release`"))?;
                let release = absolute(runner.root, release.value());
                self.go_live(unit, &release, runner).await?;
                append_history(self.current_link()?, &release);
                Ok(Change::Deployed(release.display().to_string()))
            }
            Verb::Rollback { to } => {
                let link = self.current_link()?;
                let release = match call
                    .to
                    .clone()
                    .or_else(|| to.as_ref().map(|t| t.value().to_string()))
                {
                    Some(to) => absolute(runner.root, &to),
                    // The release `current` pointed to before this run changed it.
                    None => match &call.stable {
                        Some(stable) => PathBuf::from(stable.release.as_deref().map(|r| runner.redactor.from_refs(r).value().to_string()).ok_or_else(|| {
                            Failure::failed(format!(
                                "{unit} has no stable release: `current` pointed nowhere before this run (a first deploy); name one with `rollout rollback --to DIR`"
                            ))
                        })?),
                        None => previous_from_history(link)?,
                    },
                };
                self.go_live(unit, &release, runner).await?;
                Ok(Change::RolledBack(release.display().to_string()))
            }
            Verb::Restart => {
                runner.run(&self.verb("restart", unit)).await?;
                Ok(Change::None)
            }
            Verb::Scale { count } => {
                runner.run(&self.scale_argv(*count, unit)).await?;
                Ok(Change::None)
            }
            Verb::Promote { percent, flag, .. } => {
                let pairs = call.verb.promote_pairs();
                if pairs.is_empty() {
                    return Err(Failure::failed(
                        "this promote step has no `flag` or `flags` to set",
                    ));
                }
                // One drop-in for the whole change.
                let name = flag.as_ref().map(Text::value).unwrap_or("flags");
                let path = self.dropin_path(unit, name);
                let values: Vec<&str> = pairs.iter().map(Text::value).collect();
                write_dropin(&path, name, &values)?;
                runner.run(&self.cmd(argv(&["daemon-reload"]))).await?;
                runner.run(&self.verb("restart", unit)).await?;
                Ok(percent.map_or(Change::None, Change::Promoted))
            }
        }
    }

    /// SPEC "read stable": where `current` points now (`None`: nowhere yet).
    pub fn read_stable(&self) -> Option<Running> {
        let link = self.current.as_deref()?;
        let target = fs::read_link(link).ok()?;
        Some(Running {
            release: target.display().to_string(),
            revision: None,
        })
    }

    fn current_link(&self) -> Result<&Path, Failure> {
        self.current.as_deref().ok_or_else(|| {
            Failure::failed(
                "the systemctl adapter needs to know the `current` symlink: set `[adapters.systemctl] current = \"/srv/app/current\"`",
            )
        })
    }

    /// Points `current` at `release`, restarts the unit, checks it is active.
    async fn go_live(
        &self,
        unit: &Text,
        release: &Path,
        runner: &Runner<'_>,
    ) -> Result<(), Failure> {
        repoint(self.current_link()?, release)?;
        runner.run(&self.verb("restart", unit)).await?;
        runner.run(&self.verb("is-active", unit)).await?;
        Ok(())
    }
}

/// `web` → `web.service`; `web.socket` stays.
fn unit_file(unit: &str) -> String {
    if unit.contains('.') {
        unit.to_string()
    } else {
        format!("{unit}.service")
    }
}

fn absolute(root: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    }
}

/// Makes `link` point at `release` atomically: a new symlink under a temporary name in
/// the same folder, renamed over the old one, so `current` is never missing.
pub fn repoint(link: &Path, release: &Path) -> Result<(), Failure> {
    if !release.is_dir() {
        return Err(Failure::failed(format!(
            "the release directory {} does not exist; build or copy the release there first",
            release.display()
        )));
    }
    let dir = link.parent().unwrap_or(Path::new("."));
    let name = link
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("current");
    let tmp = dir.join(format!(".{name}.rollout-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(release, &tmp)
        .and_then(|()| fs::rename(&tmp, link))
        .map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Failure::failed(format!(
                "cannot point {} at {}: {e}; check that this user may write {}",
                link.display(),
                release.display(),
                dir.display()
            ))
        })
}

/// The file next to `current` listing the releases deployed through it, oldest first.
pub fn history_file(link: &Path) -> PathBuf {
    let name = link
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("current");
    link.with_file_name(format!(".{name}.rollout-history"))
}

fn append_history(link: &Path, release: &Path) {
    // History is a fallback for rollback; failing to write it must not fail a deploy
    // that already went live.
    if let Ok(mut file) = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(history_file(link))
    {
        let _ = writeln!(file, "{}", release.display());
    }
}

/// The release deployed before the one `link` points at now.
pub fn previous_from_history(link: &Path) -> Result<PathBuf, Failure> {
    let current = fs::read_link(link).ok();
    let text = fs::read_to_string(history_file(link)).unwrap_or_default();
    let entries: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let at = match &current {
        Some(current) => entries.iter().rposition(|e| Path::new(e) == current),
        None => None,
    };
    at.and_then(|i| i.checked_sub(1))
        .and_then(|i| entries.get(i))
        .map(PathBuf::from)
        .ok_or_else(|| {
            Failure::failed(format!(
                "no release before the current one is known for {}; name it with `rollout rollback --to DIR`",
                link.display()
            ))
        })
}

/// `Environment=` takes `NAME=VALUE`, quoted when the value has spaces, quotes or
/// backslashes (systemd.exec(5)).
fn environment_line(pair: &str) -> String {
    if pair.contains([' ', '\t', '"', '\\']) {
        let escaped = pair.replace('\\', "\\\\").replace('"', "\\\"");
        format!("Environment=\"{escaped}\"")
    } else {
        format!("Environment={pair}")
    }
}

fn write_dropin(path: &Path, flag: &str, pairs: &[&str]) -> Result<(), Failure> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let write = || -> std::io::Result<()> {
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        writeln!(tmp, "# written by rollout: the {flag} feature flags")?;
        writeln!(tmp, "[Service]")?;
        for pair in pairs {
            writeln!(tmp, "{}", environment_line(pair))?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|e| {
        Failure::failed(format!(
            "cannot write the drop-in {}: {e}; set `[adapters.systemctl] dropin_dir` to a folder this user may write",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(user: bool, sudo: bool) -> Systemctl {
        Systemctl {
            bin: "systemctl".into(),
            user,
            sudo,
            current: Some(PathBuf::from("/srv/web/current")),
            dropin_dir: None,
            home: Some("/home/op".into()),
        }
    }

    #[test]
    fn user_and_sudo_change_every_command() {
        let web = Text::plain("web");
        assert_eq!(
            adapter(true, false).describe(&Verb::Restart, &web),
            ["$ systemctl --user restart web"]
        );
        assert_eq!(
            adapter(false, true).describe(&Verb::Scale { count: 0 }, &web),
            ["$ sudo -n systemctl stop web"]
        );
        assert_eq!(
            adapter(false, false).describe(&Verb::Auth, &web),
            ["$ systemctl show web --property=LoadState"]
        );
    }

    #[test]
    fn dropins_go_to_the_units_folder_unless_configured() {
        let web = Text::plain("web");
        assert_eq!(
            adapter(false, false).dropin_path(&web, "CANARY"),
            PathBuf::from("/etc/systemd/system/web.service.d/rollout-CANARY.conf")
        );
        assert_eq!(
            adapter(true, false).dropin_path(&web, "CANARY"),
            PathBuf::from("/home/op/.config/systemd/user/web.service.d/rollout-CANARY.conf")
        );
    }

    #[test]
    fn repoint_is_atomic_and_history_finds_the_previous_release() {
        let dir = tempfile::tempdir().unwrap();
        let (v1, v2) = (dir.path().join("v1"), dir.path().join("v2"));
        fs::create_dir_all(&v1).unwrap();
        fs::create_dir_all(&v2).unwrap();
        let link = dir.path().join("current");
        for release in [&v1, &v2] {
            repoint(&link, release).unwrap();
            append_history(&link, release);
        }
        assert_eq!(fs::read_link(&link).unwrap(), v2);
        assert_eq!(previous_from_history(&link).unwrap(), v1);
        repoint(&link, &v1).unwrap();
        assert!(previous_from_history(&link).is_err());
        assert!(repoint(&link, &dir.path().join("missing")).is_err());
    }

    #[test]
    fn the_dropin_sets_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.service.d/rollout-flag.conf");
        write_dropin(&path, "FLAG", &["FLAG=25", "STAGE=beta two"]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("[Service]\nEnvironment=FLAG=25\nEnvironment=\"STAGE=beta two\"\n"),
            "{text}"
        );
    }
}
