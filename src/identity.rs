//! Who and where we are: the user, host and pid recorded in locks, state and the log.

/// The current user: `$USER` if set, else the name of the real uid, else the uid itself.
pub fn user() -> String {
    if let Ok(user) = std::env::var("USER")
        && !user.trim().is_empty()
    {
        return user;
    }
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

/// This machine's hostname, or `unknown-host` when it cannot be read.
pub fn host() -> String {
    nix::unistd::gethostname()
        .ok()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// This process's id.
pub fn pid() -> u32 {
    std::process::id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_never_empty() {
        assert!(!user().is_empty());
        assert!(!host().is_empty());
        assert_eq!(pid(), std::process::id());
    }
}
