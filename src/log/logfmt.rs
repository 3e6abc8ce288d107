//! logfmt `key=value` pairs: the encoder the log writes with and the parser that reads
//! them back. No maintained crate does both, and the format is small.
//!
//! A value is written bare when it is safe to, and otherwise double-quoted with `\"`,
//! `\\`, `\n`, `\r`, `\t` and `\uXXXX` escapes, so an encoded pair never contains a raw
//! newline or control character.

use std::borrow::Cow;
use std::fmt;

/// Why a logfmt string could not be read, and the byte offset where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for ParseError {}

/// Whether `value` has to be quoted to survive a round trip.
pub fn needs_quoting(value: &str) -> bool {
    value.is_empty()
        || value
            .chars()
            .any(|c| matches!(c, '"' | '=' | '\\') || c.is_whitespace() || c.is_control())
}

/// `value` as it is written after `key=`: bare when safe, else quoted and escaped.
pub fn encode_value(value: &str) -> Cow<'_, str> {
    if !needs_quoting(value) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Every control character is below U+00A0, so four hex digits always suffice.
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

fn is_key_char(c: char) -> bool {
    !(matches!(c, '"' | '=') || c.is_whitespace() || c.is_control())
}

/// `key` made safe to write: keys are never quoted, so characters that would break the
/// pair become `_`, and an empty key becomes `_`.
pub fn encode_key(key: &str) -> Cow<'_, str> {
    if !key.is_empty() && key.chars().all(is_key_char) {
        return Cow::Borrowed(key);
    }
    if key.is_empty() {
        return Cow::Borrowed("_");
    }
    Cow::Owned(
        key.chars()
            .map(|c| if is_key_char(c) { c } else { '_' })
            .collect(),
    )
}

/// Appends ` key=value` (or `key=value` when `out` is empty) to `out`.
pub fn push_pair(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(&encode_key(key));
    out.push('=');
    out.push_str(&encode_value(value));
}

/// All pairs, space-separated, in order.
pub fn encode(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        push_pair(&mut out, key, value);
    }
    out
}

/// Splits a logfmt string into its pairs, in order, undoing quotes and escapes.
///
/// Strict on purpose: every token must be `key=value`, so that a line a person wrote by
/// hand is not mistaken for an entry. Pairs are separated by one or more spaces; leading
/// and trailing spaces are allowed.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut pairs = Vec::new();
    let mut pos = 0;
    loop {
        pos += text[pos..].len() - text[pos..].trim_start_matches(' ').len();
        if pos == text.len() {
            return Ok(pairs);
        }
        let key_len = text[pos..]
            .find(|c: char| !is_key_char(c))
            .unwrap_or(text.len() - pos);
        if key_len == 0 {
            return Err(err(pos, "expected a key"));
        }
        let key = &text[pos..pos + key_len];
        pos += key_len;
        if !text[pos..].starts_with('=') {
            return Err(err(pos, "expected `=` after the key"));
        }
        pos += 1;
        let (value, used) = take_value(&text[pos..]).map_err(|e| shift(e, pos))?;
        pos += used;
        if pos < text.len() && !text[pos..].starts_with(' ') {
            return Err(err(pos, "expected a space between pairs"));
        }
        pairs.push((key.to_string(), value));
    }
}

/// Reads one value (bare or quoted) from the start of `text`, returning it and the
/// number of bytes it took. The value ends at a space or the end of `text`.
pub(crate) fn take_value(text: &str) -> Result<(String, usize), ParseError> {
    if let Some(quoted) = text.strip_prefix('"') {
        return take_quoted(quoted)
            .map(|(value, used)| (value, used + 1))
            .map_err(|e| shift(e, 1));
    }
    let len = text.find(' ').unwrap_or(text.len());
    let value = &text[..len];
    if let Some(i) = value.find(|c: char| c == '"' || c.is_control()) {
        return Err(err(
            i,
            "a bare value cannot hold quotes or control characters",
        ));
    }
    Ok((value.to_string(), len))
}

/// The rest of a quoted value, after its opening quote; `used` includes the closing one.
fn take_quoted(text: &str) -> Result<(String, usize), ParseError> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, i + 1)),
            '\\' => {
                let unescaped = match chars.next() {
                    Some((_, '"')) => '"',
                    Some((_, '\\')) => '\\',
                    Some((_, 'n')) => '\n',
                    Some((_, 'r')) => '\r',
                    Some((_, 't')) => '\t',
                    Some((_, 'u')) => {
                        let hex = text.get(i + 2..i + 6).ok_or(err(i, "short \\u escape"))?;
                        let code = u32::from_str_radix(hex, 16)
                            .ok()
                            .filter(|_| hex.chars().all(|c| c.is_ascii_hexdigit()))
                            .and_then(char::from_u32)
                            .ok_or(err(i, "bad \\u escape"))?;
                        chars.nth(3);
                        code
                    }
                    _ => return Err(err(i, "unknown escape")),
                };
                value.push(unescaped);
            }
            c if c.is_control() => return Err(err(i, "raw control character in a quoted value")),
            c => value.push(c),
        }
    }
    Err(err(text.len(), "unterminated quote"))
}

fn err(offset: usize, reason: &'static str) -> ParseError {
    ParseError { offset, reason }
}

fn shift(e: ParseError, by: usize) -> ParseError {
    ParseError {
        offset: e.offset + by,
        ..e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn safe_values_are_bare() {
        assert_eq!(
            encode_value("r-20261122-183000-7f3a"),
            "r-20261122-183000-7f3a"
        );
        assert_eq!(encode_value("41.2s"), "41.2s");
        assert_eq!(encode_value("héllo"), "héllo");
    }

    #[test]
    fn unsafe_values_are_quoted_and_escaped() {
        assert_eq!(encode_value(""), r#""""#);
        assert_eq!(encode_value("deploy staging"), r#""deploy staging""#);
        assert_eq!(encode_value(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(encode_value("a=b"), r#""a=b""#);
        assert_eq!(encode_value(r"C:\x"), r#""C:\\x""#);
        assert_eq!(encode_value("one\ntwo\r\tthree"), r#""one\ntwo\r\tthree""#);
        assert_eq!(encode_value("bell\u{7}"), r#""bell\u0007""#);
    }

    #[test]
    fn keys_are_made_safe_rather_than_quoted() {
        assert_eq!(encode_key("step"), "step");
        assert_eq!(encode_key("exit code"), "exit_code");
        assert_eq!(encode_key("a=b\n"), "a_b_");
        assert_eq!(encode_key(""), "_");
    }

    #[test]
    fn encode_joins_pairs_with_single_spaces() {
        let list = pairs(&[("step", "deploy staging"), ("run", "r-1"), ("ok", "")]);
        assert_eq!(encode(&list), r#"step="deploy staging" run=r-1 ok="""#);
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn parse_reads_bare_and_quoted_values() {
        let got = parse(r#"step="deploy staging" run=r-1  url=http://x/?a=b empty="""#);
        assert_eq!(
            got,
            Ok(pairs(&[
                ("step", "deploy staging"),
                ("run", "r-1"),
                ("url", "http://x/?a=b"),
                ("empty", ""),
            ]))
        );
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("  a=1  "), Ok(pairs(&[("a", "1")])));
    }

    #[test]
    fn parse_undoes_every_escape() {
        let got = parse(r#"m="a\"b\\c\nd\re\tf\u0007g""#);
        assert_eq!(got, Ok(pairs(&[("m", "a\"b\\c\nd\re\tf\u{7}g")])));
    }

    #[test]
    fn parse_rejects_what_is_not_logfmt() {
        for text in [
            "just some words",
            "key",
            "=value",
            r#"a="unterminated"#,
            r#"a="x"b=c"#,
            r#"a="bad \q escape""#,
            r#"a="\u12""#,
            r#"a="\uzzzz""#,
            r#"a=b"c"#,
            "a=b\tc",
        ] {
            assert!(parse(text).is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn round_trip_keeps_every_value() {
        let values = [
            "",
            " ",
            "plain",
            "two words",
            "\"",
            "\\",
            "\\\"",
            "=",
            "a=b=c",
            "line\nbreak",
            "cr\r\nlf",
            "tab\there",
            "\u{0}\u{1b}[31m",
            "ünïcødé ✓",
            "\u{85}",
            "- -",
            "\\u0041",
        ];
        let list: Vec<(String, String)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("k{i}"), v.to_string()))
            .collect();
        let encoded = encode(&list);
        assert!(!encoded.contains('\n') && !encoded.contains('\r'));
        assert_eq!(parse(&encoded), Ok(list));
    }
}
