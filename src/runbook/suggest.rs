//! "Did you mean …?" for misspelt keys, kinds, variables and runbook names.

/// The candidate closest to `word`, when it is close enough to be a likely typo:
/// a case-only difference, or at most two edits (a swap of neighbours counts as one).
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        let distance = if candidate.to_lowercase() == lower {
            0
        } else {
            strsim::osa_distance(&lower, &candidate.to_lowercase())
        };
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    // Two edits turn any two-letter word into any other; demand real overlap.
    best.filter(|&(d, _)| d <= 2 && d < word.chars().count().saturating_sub(1).max(1))
        .map(|(_, c)| c)
}

/// `help: did you mean `x`?`, if anything is close.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_swaps_and_small_typos() {
        let keys = ["timeout", "retries", "retry_delay", "name"];
        assert_eq!(closest("tiemout", keys), Some("timeout"));
        assert_eq!(closest("retrys", keys), Some("retries"));
        assert_eq!(closest("Name", keys), Some("name"));
        assert_eq!(closest("bogus_field", keys), None);
        assert_eq!(closest("ab", ["xy"]), None);
    }

    #[test]
    fn phrases_the_help() {
        assert_eq!(
            did_you_mean("smok", ["run", "smoke"]).as_deref(),
            Some("did you mean `smoke`?")
        );
    }
}
