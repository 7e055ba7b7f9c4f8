//! `{pid}` and `{server_id}` in access-log paths: one file per process, so
//! two processes never append to (or rotate) the same file.

/// `path` with `{pid}` replaced by this process's id and `{server_id}` by `server_id`.
pub fn expand_placeholders(path: &str, server_id: &str) -> String {
    path.replace("{pid}", &std::process::id().to_string()).replace("{server_id}", server_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_placeholders_expand_and_other_text_stays() {
        let pid = std::process::id();
        assert_eq!(
            expand_placeholders("/var/log/a-{pid}-{server_id}.jsonl", "abc"),
            format!("/var/log/a-{pid}-abc.jsonl")
        );
        assert_eq!(expand_placeholders("plain.jsonl", "abc"), "plain.jsonl");
        assert_eq!(expand_placeholders("{server_id}/{server_id}", "x"), "x/x");
    }
}
