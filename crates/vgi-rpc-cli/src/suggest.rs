//! "Did you mean …?": names close to one the user mistyped.

/// Up to five of `candidates` close to `wanted`, the closest first.
pub fn close_names<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let lower = wanted.to_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let cl = c.to_lowercase();
            let score = strsim::jaro_winkler(&lower, &cl);
            let near = strsim::levenshtein(&lower, &cl) <= 2;
            let contains = lower.len() >= 3 && (cl.contains(&lower) || lower.contains(&cl));
            (score >= 0.85 || near || contains).then_some((if near { score + 1.0 } else { score }, c))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(5).map(|(_, c)| c.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::close_names;

    #[test]
    fn typos_and_fragments_find_their_method() {
        let names = ["echo_string", "echo_int", "add_floats", "produce_n"];
        assert_eq!(close_names("echo_strng", names)[0], "echo_string");
        assert_eq!(close_names("add", names), vec!["add_floats"]);
        assert!(close_names("zzzz", names).is_empty());
    }
}
