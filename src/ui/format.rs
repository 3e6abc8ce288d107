//! Small text helpers the renderers share.

use std::time::Duration;

/// A line of child output made safe to print: no escape sequences, no control
/// characters (a tab becomes a space), so plain output stays plain.
pub fn clean_line(line: &str) -> String {
    console::strip_ansi_codes(line)
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect()
}

/// Text of several lines made safe to print: as [`clean_line`] for each line, the
/// line breaks kept. For messages that may carry a tool's words (errors, warnings).
pub fn clean_text(text: &str) -> String {
    text.split('\n')
        .map(clean_line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `41.2s`, `3m 05s`, `1h 02m`: short and steady for people.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        let s = d.as_secs();
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        let s = d.as_secs();
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_keeps_line_breaks_only() {
        assert_eq!(
            clean_text("a\x1b]0;title\x07\x1b[31mb\x1b[0m\r\nc\x08d"),
            "ab\ncd"
        );
    }

    #[test]
    fn clean_line_strips_escapes_and_controls() {
        assert_eq!(clean_line("\u{1b}[31mred\u{1b}[0m\tok\r\u{7}"), "red ok");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(41_230)), "41.2s");
        assert_eq!(human_duration(Duration::from_secs(185)), "3m 05s");
        assert_eq!(human_duration(Duration::from_secs(3720)), "1h 02m");
    }
}
