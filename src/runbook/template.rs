//! `{{name}}` templates: parsing a string into literal text and variable references,
//! and splitting a command like a shell would *before* anything is substituted, so a
//! value can never become extra arguments or shell syntax.

use std::ops::Range;

/// One part of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    Lit(String),
    /// `{{ name }}`; `at` is where `{{ … }}` is in the template, for messages.
    Var {
        name: String,
        at: Range<usize>,
    },
}

/// A template that does not parse, at byte `offset` of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateError {
    pub offset: usize,
    pub message: String,
}

/// The offset of an error that concerns the whole template (an unbalanced quote).
pub(crate) const WHOLE: usize = usize::MAX;

/// Splits `text` into pieces. Spaces inside the braces are allowed: `{{ image }}`.
pub(crate) fn parse(text: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut base = 0;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Lit(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(TemplateError {
                offset: base + open,
                message: "`{{` is never closed: end the variable with `}}`".into(),
            });
        };
        let name = after[..close].trim();
        if !is_name(name) {
            let shown = &rest[open..open + 2 + close + 2];
            return Err(TemplateError {
                offset: base + open,
                message: if name.is_empty() {
                    "empty `{{ }}`: put a variable name inside".to_string()
                } else {
                    format!(
                        "`{shown}` is not a variable name (letters, digits, `_`, `-`; `env.NAME` or `secret.NAME`)"
                    )
                },
            });
        }
        let consumed = open + 2 + close + 2;
        pieces.push(Piece::Var {
            name: name.to_string(),
            at: base + open..base + consumed,
        });
        base += consumed;
        rest = &rest[consumed..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Lit(rest.to_string()));
    }
    Ok(pieces)
}

fn is_name(name: &str) -> bool {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match name.split_once('.') {
        Some(("env" | "secret", var)) => plain(var),
        Some(_) => false,
        None => plain(name),
    }
}

// Private-use characters stand in for variables while the shell-like split runs: they
// are not whitespace or quotes, so a placeholder stays inside the argument it was in.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// Splits a command template into arguments the way a shell would (quotes, escapes),
/// keeping each `{{…}}` inside the argument where it was written.
pub(crate) fn split_args(text: &str) -> Result<Vec<Vec<Piece>>, TemplateError> {
    let pieces = parse(text)?;
    let mut marked = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Lit(lit) => marked.push_str(lit),
            Piece::Var { .. } => marked.push_str(&format!("{OPEN}{i}{CLOSE}")),
        }
    }
    let words = shell_words::split(&marked).map_err(|_| TemplateError {
        offset: WHOLE,
        message: "`cmd` has an unbalanced quote: close every ' and \"".into(),
    })?;
    Ok(words.iter().map(|w| unmark(w, &pieces)).collect())
}

/// One split word back into pieces.
fn unmark(word: &str, pieces: &[Piece]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = word.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let var = (c == OPEN)
            .then(|| word[i + c.len_utf8()..].split_once(CLOSE))
            .flatten()
            .and_then(|(digits, _)| {
                Some((digits.len(), pieces.get(digits.parse::<usize>().ok()?)?))
            });
        match var {
            Some((len, piece)) => {
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                out.push(piece.clone());
                // Skip the digits and the closing mark.
                for _ in 0..len + 1 {
                    chars.next();
                }
            }
            None => lit.push(c),
        }
    }
    if !lit.is_empty() || out.is_empty() {
        out.push(Piece::Lit(lit));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, at: Range<usize>) -> Piece {
        Piece::Var {
            name: name.into(),
            at,
        }
    }

    fn lit(s: &str) -> Piece {
        Piece::Lit(s.into())
    }

    #[test]
    fn parses_variables_with_spaces_inside_the_braces() {
        assert_eq!(
            parse("https://{{ target }}.fly.dev/{{env.PATH_X}}").unwrap(),
            vec![
                lit("https://"),
                var("target", 8..20),
                lit(".fly.dev/"),
                var("env.PATH_X", 29..43)
            ]
        );
        assert_eq!(parse("plain").unwrap(), vec![lit("plain")]);
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn rejects_unclosed_and_bad_names() {
        let err = parse("echo {{x").unwrap_err();
        assert_eq!(err.offset, 5);
        assert!(err.message.contains("never closed"));
        assert!(parse("{{ }}").unwrap_err().message.contains("empty"));
        assert!(
            parse("{{a b}}")
                .unwrap_err()
                .message
                .contains("not a variable name")
        );
        assert!(parse("{{foo.bar}}").is_err());
        assert!(parse("{{secret.}}").is_err());
    }

    #[test]
    fn splits_before_substituting() {
        let args = split_args("echo '{{ msg }} x' {{msg}} pre{{a}}post").unwrap();
        assert_eq!(
            args,
            vec![
                vec![lit("echo")],
                vec![var("msg", 6..15), lit(" x")],
                vec![var("msg", 19..26)],
                vec![lit("pre"), var("a", 30..35), lit("post")],
            ]
        );
    }

    #[test]
    fn an_unbalanced_quote_is_an_error() {
        let err = split_args("echo 'oops").unwrap_err();
        assert!(err.message.contains("unbalanced quote"));
    }

    #[test]
    fn empty_quoted_arguments_survive() {
        assert_eq!(
            split_args("a ''").unwrap(),
            vec![vec![lit("a")], vec![lit("")]]
        );
    }
}
