//! `rollout schema`: the JSON Schema of the runbook format, for editors (Taplo, Even
//! Better TOML). It is built from the loader's own field tables (`runbook::schema`).

use crate::error::{Error, ExitCode};
use crate::runbook::schema::json_schema;

use super::output::print_stdout;

pub fn run() -> Result<ExitCode, Error> {
    let text = serde_json::to_string_pretty(&json_schema())
        .map_err(|e| Error::failed(format!("cannot render the schema: {e}")))?;
    print_stdout(&text)?;
    Ok(ExitCode::Ok)
}
