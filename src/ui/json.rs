//! `--json` for runs: one JSON object per event per line on stdout.

use std::io::Write;
use std::sync::Mutex;

use crate::event::{Event, Reporter};

pub struct JsonRenderer {
    out: Mutex<Box<dyn Write + Send>>,
}

impl JsonRenderer {
    pub fn stdout() -> JsonRenderer {
        JsonRenderer::new(Box::new(std::io::stdout()))
    }

    pub fn new(out: Box<dyn Write + Send>) -> JsonRenderer {
        JsonRenderer {
            out: Mutex::new(out),
        }
    }
}

impl Reporter for JsonRenderer {
    fn report(&self, event: &Event) {
        let Ok(line) = serde_json::to_string(event) else {
            return;
        };
        if let Ok(mut out) = self.out.lock() {
            // A closed pipe (`| head`) must not stop a deploy: ignore write errors.
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}
