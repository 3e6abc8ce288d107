//! A file's text and the arithmetic from byte spans to `line:col` and the quoted line.

use std::ops::Range;
use std::path::PathBuf;

/// The text of one TOML file, named as messages show it (relative to the project root).
#[derive(Debug)]
pub(crate) struct Source {
    pub file: PathBuf,
    pub text: String,
    /// The byte offset where each line starts, so a position is a binary search rather
    /// than a count of newlines from the start (which made a big runbook quadratic).
    line_starts: Vec<usize>,
}

/// A resolved position: 1-based line and column (in characters), the line's text, and
/// how many characters of it the span covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: usize,
    pub col: usize,
    pub source_line: String,
    pub width: usize,
}

impl Source {
    pub fn new(file: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            file: file.into(),
            text,
            line_starts,
        }
    }

    /// Where `span` starts. Out-of-range spans are clamped, never a panic.
    pub fn position(&self, span: Range<usize>) -> Position {
        let start = floor_char_boundary(&self.text, span.start);
        // The number of lines starting at or before `start` is its 1-based line.
        let line = self.line_starts.partition_point(|&s| s <= start);
        let line_start = self.line_starts[line - 1];
        let line_end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        let col = self.text[line_start..start].chars().count() + 1;
        let end = floor_char_boundary(&self.text, span.end.clamp(start, line_end));
        Position {
            line,
            col,
            source_line: self.text[line_start..line_end]
                .trim_end_matches('\r')
                .to_string(),
            width: self.text[start..end].chars().count().max(1),
        }
    }

    /// The `file:line:col` of a span, as steps record their location.
    pub fn location(&self, span: Range<usize>) -> String {
        let at = self.position(span);
        format!("{}:{}:{}", self.file.display(), at.line, at.col)
    }

    /// The byte offset in the file of byte `index` of a string value's content. Exact
    /// when the value is written without escapes (nearly always); otherwise the start of
    /// the value, which is still the right line.
    pub fn offset_in_string(&self, span: &Range<usize>, content: &str, index: usize) -> usize {
        let Some(raw) = self.text.get(span.clone()) else {
            return span.start;
        };
        let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            3
        } else {
            1
        };
        match raw.get(quote..) {
            Some(rest) if rest.starts_with(content) => span.start + quote + index,
            _ => span.start,
        }
    }
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let s = Source::new("r.toml", "a = 1\nné = \"x\"\n");
        let at = s.position(6..9);
        assert_eq!((at.line, at.col), (2, 1));
        assert_eq!(at.source_line, "né = \"x\"");
        assert_eq!(at.width, 2);
        let at = s.position(12..15);
        assert_eq!((at.line, at.col, at.width), (2, 6, 3));
        assert_eq!(s.location(12..15), "r.toml:2:6");
    }

    #[test]
    fn every_line_of_a_long_file_is_found() {
        let text: String = (0..5000).map(|i| format!("k{i} = {i}\r\n")).collect();
        let s = Source::new("r.toml", text.as_str());
        for i in [0usize, 1, 2499, 4999] {
            let offset = text.find(&format!("k{i} =")).expect("present");
            let at = s.position(offset + 1..offset + 2);
            assert_eq!((at.line, at.col), (i + 1, 2));
            assert_eq!(at.source_line, format!("k{i} = {i}"));
        }
        // A span on the newline itself belongs to the line it ends.
        let at = s.position(text.find('\n').expect("newline")..text.len());
        assert_eq!((at.line, at.width), (1, 1));
    }

    #[test]
    fn spans_past_the_end_are_clamped() {
        let s = Source::new("r.toml", "a = ");
        let at = s.position(40..50);
        assert_eq!((at.line, at.col, at.width), (1, 5, 1));
    }

    #[test]
    fn offsets_inside_plain_strings_are_exact() {
        let text = "cmd = \"echo {{x}}\"";
        let s = Source::new("r.toml", text);
        let span = 6..18;
        assert_eq!(s.offset_in_string(&span, "echo {{x}}", 5), 12);
        assert_eq!(&text[12..14], "{{");
        // With an escape the content differs from the raw text: fall back to the value.
        let s = Source::new("r.toml", "cmd = \"a\\tb {{x}}\"");
        assert_eq!(s.offset_in_string(&(6..18), "a\tb {{x}}", 4), 6);
    }
}
