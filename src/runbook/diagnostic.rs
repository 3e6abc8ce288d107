//! A problem in a runbook or rollout.toml, at `file:line:col`, rendered the way
//! compilers do: the line, a caret under the spot, and a suggestion.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use super::source::Source;

/// One error in a file. `line` and `col` are 1-based; `line == 0` means the problem is
/// the file as a whole (it is missing or unreadable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Relative to the project root, e.g. `runbooks/canary.toml`.
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// A suggestion, usually "did you mean `…`?".
    pub help: Option<String>,
    /// The text of `line`, for the excerpt.
    pub source_line: Option<String>,
    /// How many characters the caret underlines.
    pub width: usize,
}

impl Diagnostic {
    /// A problem at `span` of `source`.
    pub(crate) fn at(source: &Source, span: Range<usize>, message: impl Into<String>) -> Self {
        let at = source.position(span);
        Diagnostic {
            file: source.file.clone(),
            line: at.line,
            col: at.col,
            message: message.into(),
            help: None,
            source_line: Some(at.source_line),
            width: at.width,
        }
    }

    /// A problem with a whole file, with no position in it.
    pub(crate) fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: 0,
            col: 0,
            message: message.into(),
            help: None,
            source_line: None,
            width: 0,
        }
    }

    pub(crate) fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// `file:line:col`, or just `file` for whole-file problems.
    pub fn location(&self) -> String {
        if self.line == 0 {
            self.file.display().to_string()
        } else {
            format!("{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: error: {}", self.location(), self.message)?;
        if let (Some(text), true) = (&self.source_line, self.line > 0) {
            let number = self.line.to_string();
            let gutter = " ".repeat(number.len());
            // Keep tabs in the caret's indent so it lines up under tabbed text.
            let indent: String = text
                .chars()
                .take(self.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n   {number} | {text}")?;
            write!(
                f,
                "\n   {gutter} | {indent}{}",
                "^".repeat(self.width.max(1))
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n   help: {help}")?;
        }
        Ok(())
    }
}

/// Renders diagnostics one after another, separated by blank lines.
pub(crate) fn render_all(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// "1 error", "3 errors".
pub(crate) fn count(n: usize) -> String {
    if n == 1 {
        "1 error".to_string()
    } else {
        format!("{n} errors")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_a_compiler() {
        let mut text = String::new();
        for i in 1..12 {
            text.push_str(&format!("# line {i}\n"));
        }
        let offset = text.len();
        text.push_str("tiemout = \"5m\"\n");
        let source = Source::new("runbooks/canary.toml", text);
        let d = Diagnostic::at(
            &source,
            offset..offset + 7,
            "unknown key `tiemout` in [[steps]] #3 (\"deploy staging\")",
        )
        .with_help(Some("did you mean `timeout`?".into()));
        let expected = [
            "runbooks/canary.toml:12:1: error: unknown key `tiemout` in [[steps]] #3 (\"deploy staging\")",
            "   12 | tiemout = \"5m\"",
            "      | ^^^^^^^",
            "   help: did you mean `timeout`?",
        ];
        assert_eq!(d.to_string(), expected.join("\n"));
    }

    #[test]
    fn whole_file_problems_have_no_position() {
        let d = Diagnostic::file("runbooks/x.toml", "cannot read it");
        assert_eq!(d.to_string(), "runbooks/x.toml: error: cannot read it");
    }
}
