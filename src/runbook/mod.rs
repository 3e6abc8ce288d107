//! Runbook files: loading, validation with file:line:col diagnostics, templating.
