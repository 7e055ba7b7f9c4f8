//! Property tests: per-batch custom metadata survives a stream round trip
//! exactly (order, empty and Unicode keys and values), and bytes that are
//! not UTF-8 are repaired to `?` byte for byte with the lossy flag set.
//! Edits (insert, replace, remove) behave like an ordered list of pairs,
//! and a clone taken before them is left as it was.

mod prop_support;

use prop_support::{config, control_stream, metadata, text};
use proptest::prelude::*;
use vgi_rpc_wire::reader::read_stream_bytes;
use vgi_rpc_wire::Metadata;

/// Read back the metadata of the single batch in `bytes`.
fn only_metadata(bytes: &[u8]) -> Metadata {
    let (_, batches) = read_stream_bytes(bytes).expect("a valid stream");
    assert_eq!(batches.len(), 1);
    batches.into_iter().next().map(|b| b.metadata).unwrap_or_default()
}

/// What the reader is documented to make of `bytes`: valid UTF-8 runs kept,
/// every byte of each invalid sequence replaced by `?` (lengths unchanged).
fn repaired(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(std::iter::repeat_n('?', chunk.invalid().len()));
    }
    out
}

/// Where `needle` occurs in `haystack`, exactly once.
fn unique_position(haystack: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> =
        haystack.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect();
    assert_eq!(hits.len(), 1, "the placeholder must occur once");
    hits[0]
}

proptest! {
    #![proptest_config(config(256, "proptest-regressions/prop_metadata.txt"))]

    #[test]
    fn metadata_round_trips_exactly(md in metadata(8)) {
        let back = only_metadata(&control_stream(&md));
        prop_assert!(!back.had_invalid_utf8());
        prop_assert_eq!(back, md);
    }

    #[test]
    fn metadata_api_keeps_first_insertion_order_and_last_value(pairs in proptest::collection::vec((text(4), text(8)), 0..12)) {
        let md: Metadata = pairs.iter().cloned().collect();
        let mut keys: Vec<&str> = Vec::new();
        for (k, _) in &pairs {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        prop_assert_eq!(md.iter().map(|(k, _)| k).collect::<Vec<_>>(), keys.clone());
        for k in keys {
            let last = pairs.iter().rev().find(|(pk, _)| pk == k).map(|(_, v)| v.as_str());
            prop_assert_eq!(md.get(k), last);
        }
    }

    #[test]
    fn invalid_utf8_is_repaired_to_question_marks(
        bytes in proptest::collection::vec(any::<u8>(), 1..24),
        in_key in any::<bool>(),
        others in metadata(3),
    ) {
        // Write a placeholder of the same length, then overwrite it in the
        // encoded flatbuffer with arbitrary bytes (lengths stay valid).
        let placeholder = format!("<{}>", "#".repeat(bytes.len()));
        let (key, value) = if in_key { (placeholder.clone(), "v".to_owned()) } else { ("k<".to_owned(), placeholder.clone()) };
        // Other entries never contain `<`, so the placeholder is unique.
        let mut md: Metadata = others.iter().filter(|(k, v)| !k.contains('<') && !v.contains('<')).collect();
        md.insert(key.clone(), value.clone());
        let mut encoded = control_stream(&md);
        let at = unique_position(&encoded, placeholder.as_bytes()) + 1;
        encoded[at..at + bytes.len()].copy_from_slice(&bytes);

        let back = only_metadata(&encoded);
        let fixed = format!("<{}>", repaired(&bytes));
        let (want_key, want_value) = if in_key { (fixed, value) } else { (key, fixed) };
        prop_assert_eq!(back.had_invalid_utf8(), std::str::from_utf8(&bytes).is_err());
        prop_assert_eq!(back.len(), md.len());
        let got: Vec<(&str, &str)> = back.iter().collect();
        prop_assert_eq!(got.last().copied(), Some((want_key.as_str(), want_value.as_str())));
        prop_assert_eq!(&got[..got.len() - 1], &md.iter().collect::<Vec<_>>()[..md.len() - 1]);
    }

    #[test]
    fn edits_match_an_ordered_list_and_spare_earlier_clones(
        start in metadata(4),
        edits in proptest::collection::vec((any::<bool>(), text(3), text(6)), 0..16),
    ) {
        let mut md = start.clone();
        let mut model: Vec<(String, String)> = start.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        for (insert, key, value) in &edits {
            let before = md.clone();
            let before_entries: Vec<(String, String)> = md.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
            if *insert {
                md.insert(key, value);
                match model.iter_mut().find(|(k, _)| k == key) {
                    Some(entry) => entry.1 = value.clone(),
                    None => model.push((key.clone(), value.clone())),
                }
            } else {
                let at = model.iter().position(|(k, _)| k == key);
                let removed = at.map(|i| model.remove(i).1);
                prop_assert_eq!(md.remove(key), removed);
            }
            let kept: Vec<(&str, &str)> = before.iter().collect();
            let was: Vec<(&str, &str)> = before_entries.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(kept, was, "a clone taken before the edit is unchanged");
        }
        let got: Vec<(&str, &str)> = md.iter().collect();
        let want: Vec<(&str, &str)> = model.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        prop_assert_eq!(got, want);
        let back = only_metadata(&control_stream(&md));
        prop_assert_eq!(back, md);
    }
}
