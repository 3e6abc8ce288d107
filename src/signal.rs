//! Ctrl-C, SIGTERM, SIGHUP and SIGQUIT as a cancellation that every part of a run can
//! check or await.
//!
//! Children run in their own process groups (see `process.rs`), so the terminal's Ctrl-C
//! reaches only us; we turn it into this flag and the engine decides what to stop.
//!
//! SIGHUP (an SSH session that dropped) is an interrupt like SIGTERM (SPEC §4). SIGQUIT
//! (`Ctrl-\`) would by default kill us at once and dump core, leaving the child running and
//! the state `running`; an operator who presses it wants the run to stop, so it is an
//! interrupt too: the same INTERRUPTED line, state and exit 130.

use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// Set once by SIGINT, SIGTERM, SIGHUP or SIGQUIT (or a test trigger); never unset. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Interrupt {
    /// `Some(signal number)` once set. The sender lives in the listener task, in an
    /// `InterruptTrigger`, or nowhere (`never`).
    rx: watch::Receiver<Option<i32>>,
}

/// Fires an [`Interrupt`] by hand: for tests.
#[derive(Debug)]
pub struct InterruptTrigger {
    tx: watch::Sender<Option<i32>>,
}

impl InterruptTrigger {
    /// Sets the interrupt as if Ctrl-C (SIGINT) had been pressed.
    pub fn fire(&self) {
        set_once(&self.tx, Signal::SIGINT as i32);
    }
}

impl Interrupt {
    /// Listens for SIGINT, SIGTERM, SIGHUP and SIGQUIT for the rest of the process's life.
    ///
    /// Call inside a tokio runtime with IO enabled (as `#[tokio::main]` has). Once installed, neither signal kills the process any
    /// more, not even a second Ctrl-C: the engine decides how to stop. Outside a runtime,
    /// or if the handler cannot be registered, the signal keeps its default action (the
    /// process dies), which is the safe fallback.
    pub fn install() -> Interrupt {
        let (tx, rx) = watch::channel(None);
        if tokio::runtime::Handle::try_current().is_err() {
            return Interrupt { rx };
        }
        let int = signal(SignalKind::interrupt()).ok();
        let term = signal(SignalKind::terminate()).ok();
        let hup = signal(SignalKind::hangup()).ok();
        let quit = signal(SignalKind::quit()).ok();
        tokio::spawn(async move {
            let (mut int, mut term, mut hup, mut quit) = (int, term, hup, quit);
            loop {
                let received = tokio::select! {
                    Some(()) = recv(&mut int) => Signal::SIGINT,
                    Some(()) = recv(&mut term) => Signal::SIGTERM,
                    Some(()) = recv(&mut hup) => Signal::SIGHUP,
                    Some(()) = recv(&mut quit) => Signal::SIGQUIT,
                    else => return,
                };
                // Keep the first signal; later ones are absorbed so the process lives on.
                set_once(&tx, received as i32);
            }
        });
        Interrupt { rx }
    }

    /// An interrupt that never fires.
    pub fn never() -> Interrupt {
        let (_tx, rx) = watch::channel(None);
        Interrupt { rx }
    }

    /// An interrupt fired by hand through the returned trigger.
    pub fn manual() -> (InterruptTrigger, Interrupt) {
        let (tx, rx) = watch::channel(None);
        (InterruptTrigger { tx }, Interrupt { rx })
    }

    /// Whether a signal has arrived.
    pub fn is_set(&self) -> bool {
        self.rx.borrow().is_some()
    }

    /// Resolves once set; at once if it already is. Never resolves for `never()`.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(Option::is_some).await.is_err() {
            // Every sender is gone without setting it: it can never fire now.
            std::future::pending::<()>().await;
        }
    }

    /// The number of the first signal received (2 for SIGINT, 15 for SIGTERM), if any.
    pub fn signal(&self) -> Option<i32> {
        *self.rx.borrow()
    }
}

fn set_once(tx: &watch::Sender<Option<i32>>, signal: i32) {
    tx.send_if_modified(|current| {
        if current.is_some() {
            return false;
        }
        *current = Some(signal);
        true
    });
}

/// Receives from a listener that may not exist (registration failed): then never.
async fn recv(listener: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match listener {
        Some(listener) => listener.recv().await,
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::timeout;

    #[tokio::test]
    async fn manual_trigger_sets_it_and_wakes_waiters() {
        let (trigger, interrupt) = Interrupt::manual();
        assert!(!interrupt.is_set());
        assert_eq!(interrupt.signal(), None);
        let waiter = {
            let interrupt = interrupt.clone();
            tokio::spawn(async move { interrupt.wait().await })
        };
        trigger.fire();
        timeout(Duration::from_secs(2), waiter)
            .await
            .expect("waiter woke")
            .expect("waiter task");
        assert!(interrupt.is_set());
        assert_eq!(interrupt.signal(), Some(2));
        // Already set: resolves at once.
        timeout(Duration::from_millis(100), interrupt.wait())
            .await
            .expect("immediate");
    }

    #[tokio::test]
    async fn never_stays_unset() {
        let interrupt = Interrupt::never();
        assert!(!interrupt.is_set());
        assert!(
            timeout(Duration::from_millis(50), interrupt.wait())
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_dropped_trigger_never_fires() {
        let (trigger, interrupt) = Interrupt::manual();
        drop(trigger);
        assert!(
            timeout(Duration::from_millis(50), interrupt.wait())
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn installed_listener_catches_sigterm_and_survives_a_second() {
        // Handlers are registered inside `install`, so raising right after is safe.
        let interrupt = Interrupt::install();
        nix::sys::signal::raise(Signal::SIGTERM).expect("raise");
        timeout(Duration::from_secs(2), interrupt.wait())
            .await
            .expect("SIGTERM seen");
        nix::sys::signal::raise(Signal::SIGINT).expect("raise again");
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Still alive, and the first signal is the one remembered.
        assert_eq!(interrupt.signal(), Some(15));
        // SIGHUP and SIGQUIT interrupt too (one test: signals are process-wide).
        for signal in [Signal::SIGHUP, Signal::SIGQUIT] {
            let fresh = Interrupt::install();
            nix::sys::signal::raise(signal).expect("raise");
            timeout(Duration::from_secs(2), fresh.wait())
                .await
                .expect("signal seen");
            assert_eq!(fresh.signal(), Some(signal as i32));
        }
        assert_eq!(interrupt.signal(), Some(15));
    }

    #[test]
    fn install_outside_a_runtime_does_not_panic() {
        assert!(!Interrupt::install().is_set());
    }
}
