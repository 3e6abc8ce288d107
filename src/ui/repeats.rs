//! Repeated lines said once, with a count: a health check polling a 404 for two
//! minutes prints one probe line and "×23 more like it", not 24 lines that differ only
//! in their latency.

use std::collections::HashMap;

/// Lines alike but for their durations (`5ms`, `1.2s`) are "the same line"; any other
/// number (a status code, a count) keeps lines apart: a 404 turning into a 200 shows.
fn likeness(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut key = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let unit = chars.get(j).is_some_and(|c| c.is_alphabetic());
            if unit {
                key.push('#');
            } else {
                key.extend(&chars[i..j]);
            }
            i = j;
        } else {
            key.push(chars[i]);
            i += 1;
        }
    }
    key
}

/// The line that stands for the ones left out.
fn more_like_it(count: usize, last: &str) -> String {
    format!("… ×{count} more like it (last: {last})")
}

/// Collapses runs of alike lines in a finished list (a failure's output tail).
pub fn collapse(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let key = likeness(&lines[i]);
        let mut j = i + 1;
        while j < lines.len() && likeness(&lines[j]) == key {
            j += 1;
        }
        out.push(lines[i].clone());
        match j - i {
            1 => {}
            // Two alike lines are shorter shown than summed up.
            2 => out.push(lines[i + 1].clone()),
            n => out.push(more_like_it(n - 1, &lines[j - 1])),
        }
        i = j;
    }
    out
}

/// The same, for lines as they stream in, per step: alike lines are held back and
/// counted, and the count is said when a different line comes or the step ends.
#[derive(Default)]
pub struct Repeats {
    by_step: HashMap<String, Run>,
}

struct Run {
    key: String,
    held: usize,
    last: String,
}

impl Repeats {
    /// The lines to print now for `line` of `step`.
    pub fn push(&mut self, step: &str, line: &str) -> Vec<String> {
        let key = likeness(line);
        if let Some(run) = self.by_step.get_mut(step)
            && run.key == key
        {
            run.held += 1;
            run.last = line.to_string();
            return Vec::new();
        }
        let mut out = self.finish(step);
        out.push(line.to_string());
        self.by_step.insert(
            step.to_string(),
            Run {
                key,
                held: 0,
                last: line.to_string(),
            },
        );
        out
    }

    /// The count of what was held back for `step`, when it ends (or another line comes).
    pub fn finish(&mut self, step: &str) -> Vec<String> {
        match self.by_step.remove(step) {
            Some(run) if run.held == 1 => vec![run.last],
            Some(run) if run.held > 1 => vec![more_like_it(run.held, &run.last)],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn alike_lines_collapse_with_a_count() {
        let tail = lines(&[
            "GET http://a/health → 404 in 5ms",
            "GET http://a/health → 404 in 7ms",
            "GET http://a/health → 404 in 12ms",
            "GET http://a/health → 404 in 6ms",
            "GET http://a/health → 200 in 3ms",
        ]);
        assert_eq!(
            collapse(&tail),
            lines(&[
                "GET http://a/health → 404 in 5ms",
                "… ×3 more like it (last: GET http://a/health → 404 in 6ms)",
                "GET http://a/health → 200 in 3ms",
            ])
        );
        assert_eq!(collapse(&tail[..2]), tail[..2].to_vec());
        assert_eq!(likeness("→ 404 in 12.5ms"), "→ 404 in #ms");
    }

    #[test]
    fn streamed_lines_are_held_and_counted_per_step() {
        let mut r = Repeats::default();
        assert_eq!(r.push("s", "refused in 1ms"), vec!["refused in 1ms"]);
        assert!(r.push("s", "refused in 2ms").is_empty());
        assert_eq!(r.push("t", "other"), vec!["other"]);
        assert!(r.push("s", "refused in 3ms").is_empty());
        assert_eq!(
            r.push("s", "ok"),
            vec!["… ×2 more like it (last: refused in 3ms)", "ok"]
        );
        assert!(r.push("s", "ok").is_empty());
        assert_eq!(r.finish("s"), vec!["ok"]);
        assert!(r.finish("s").is_empty());
    }
}
