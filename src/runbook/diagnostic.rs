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

    /// A file that is not valid UTF-8, at its first bad byte.
    pub(crate) fn invalid_utf8(
        file: impl Into<PathBuf>,
        bytes: &[u8],
        err: &std::str::Utf8Error,
    ) -> Self {
        let at = err.valid_up_to();
        // The text before the bad byte is valid, so lines and columns count right.
        let source = Source::new(file, String::from_utf8_lossy(bytes).into_owned());
        let byte = bytes.get(at).copied().unwrap_or_default();
        Diagnostic::at(
            &source,
            at..at + 1,
            format!("the file is not valid UTF-8 (byte 0x{byte:02X} here)"),
        )
        .with_help(Some("save the file as UTF-8".into()))
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
            let (text, col) = excerpt(text, self.col);
            // Keep tabs in the caret's indent so it lines up under tabbed text.
            let indent: String = text
                .chars()
                .take(col.saturating_sub(1))
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

/// At most this many characters of a source line are shown around the caret.
const EXCERPT: usize = 100;

/// The part of a long line around column `col` (1-based), with `…` where it was cut,
/// and the column of the same spot in it: a 5,000-bracket line must not flood a screen.
fn excerpt(text: &str, col: usize) -> (String, usize) {
    let count = text.chars().count();
    if count <= EXCERPT {
        return (text.to_string(), col);
    }
    let start = col
        .saturating_sub(1)
        .saturating_sub(EXCERPT / 2)
        .min(count - EXCERPT);
    let mut shown: String = text.chars().skip(start).take(EXCERPT).collect();
    let mut col = col - start;
    if start > 0 {
        shown.insert(0, '…');
        col += 1;
    }
    if start + EXCERPT < count {
        shown.push('…');
    }
    (shown, col)
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

    #[test]
    fn a_long_line_is_cut_around_the_caret() {
        let line = format!("{}X{}", "a".repeat(300), "b".repeat(300));
        let (shown, col) = excerpt(&line, 301);
        assert_eq!(shown.chars().nth(col - 1), Some('X'));
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert!(shown.chars().count() <= EXCERPT + 2);
        assert_eq!(excerpt("short", 3), ("short".to_string(), 3));
        let (start, col) = excerpt(&line, 1);
        assert_eq!((col, start.starts_with('a')), (1, true));
    }

    #[test]
    fn invalid_utf8_points_at_the_first_bad_byte() {
        let bytes: Vec<u8> = b"a = 1\nb = \"\xc3\xa9\xff\"\n".to_vec();
        let err = String::from_utf8(bytes.clone()).unwrap_err().utf8_error();
        let d = Diagnostic::invalid_utf8("r.toml", &bytes, &err);
        assert_eq!((d.line, d.col), (2, 7));
        assert!(d.message.contains("0xFF"));
    }
}
