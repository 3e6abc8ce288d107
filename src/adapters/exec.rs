//! The exec adapter: no platform CLI and no defaults. Its platform steps run their own
//! `cmd` (handled by the step); without one there is nothing it could run.

use super::Failure;
use crate::plan::Verb;

pub fn describe(verb: &Verb) -> Vec<String> {
    vec![format!(
        "error: the exec adapter has no default for `{}`; give a `cmd`",
        verb.name()
    )]
}

/// The loader rejects such steps; this is the same message should one get through.
pub fn no_default(verb: &Verb) -> Failure {
    Failure::failed(format!(
        "the exec adapter has no default command for `{}`: give the step a `cmd`",
        verb.name()
    ))
}
