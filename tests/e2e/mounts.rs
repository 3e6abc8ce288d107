//! Broken file systems for tests, made real: a read-only bind mount over a folder, or a
//! tiny tmpfs that fills up. Mounting needs root (or CAP_SYS_ADMIN); where it is not
//! allowed each helper says so and returns `None`, and the test skips.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A mount that is undone when dropped (lazily, so an open file never blocks it).
pub struct Mount {
    at: PathBuf,
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

fn mount(args: &[&str], at: &Path) -> bool {
    Command::new("mount")
        .args(args)
        .arg(at)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Makes the existing folder `dir` read-only in place, for everyone (root included):
/// a bind mount of itself, remounted read-only.
pub fn read_only(dir: &Path) -> Option<Mount> {
    std::fs::create_dir_all(dir).ok()?;
    if !mount(&["--bind", &dir.display().to_string()], dir) {
        eprintln!("skipping: cannot bind-mount {} (not root?)", dir.display());
        return None;
    }
    let guard = Mount {
        at: dir.to_path_buf(),
    };
    if !mount(&["-o", "remount,ro,bind"], dir) {
        eprintln!("skipping: cannot remount {} read-only", dir.display());
        return None;
    }
    Some(guard)
}

/// A fresh tmpfs of `bytes` at `dir` (created if missing): a disk that fills up.
pub fn small_disk(dir: &Path, bytes: usize) -> Option<Mount> {
    std::fs::create_dir_all(dir).ok()?;
    if !mount(
        &["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"],
        dir,
    ) {
        eprintln!(
            "skipping: cannot mount a tmpfs at {} (not root?)",
            dir.display()
        );
        return None;
    }
    Some(Mount {
        at: dir.to_path_buf(),
    })
}

/// Fills the file system under `dir` until a write fails (a full disk).
pub fn fill(dir: &Path) {
    use std::io::Write;
    let Ok(mut file) = std::fs::File::create(dir.join(".filler")) else {
        return;
    };
    let block = vec![b'x'; 4096];
    while file.write_all(&block).is_ok() {}
    // Byte by byte, the last partial block too.
    while file.write_all(b"x").is_ok() {}
    let _ = file.sync_all();
}
