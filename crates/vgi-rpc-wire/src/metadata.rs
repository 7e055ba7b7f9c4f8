//! Per-batch custom metadata: an ordered list of UTF-8 key/value pairs.
//!
//! Order is preserved exactly as read or inserted, because some peers'
//! Arrow libraries do not sort keys and tests compare what was sent.

use std::sync::Arc;

/// Custom metadata attached to one record batch message.
///
/// The text of every key and value lives in one buffer shared by clones, so
/// reading a message's metadata costs a fixed handful of allocations however
/// many entries it has, and a clone (a call context keeping the request's
/// metadata, say) costs none. The first change to a shared set copies it.
#[derive(Clone, Default)]
pub struct Metadata {
    /// `None` while empty: an empty set allocates nothing.
    entries: Option<Arc<Entries>>,
    lossy: bool,
}

/// Keys and values packed in one string, in order.
#[derive(Clone, Default)]
struct Entries {
    text: String,
    spans: Vec<Span>,
    /// Bytes of `text` no span points at any more (replaced or removed).
    dead: usize,
}

/// Where one entry's key and value are in [`Entries::text`].
#[derive(Clone, Copy)]
struct Span {
    key: (usize, usize),
    value: (usize, usize),
}

impl Entries {
    fn with_capacity(entries: usize, text: usize) -> Self {
        Self { text: String::with_capacity(text), spans: Vec::with_capacity(entries), dead: 0 }
    }

    fn slice(&self, (start, end): (usize, usize)) -> &str {
        &self.text[start..end]
    }

    fn key(&self, span: &Span) -> &str {
        self.slice(span.key)
    }

    fn append(&mut self, text: &str) -> (usize, usize) {
        let start = self.text.len();
        self.text.push_str(text);
        (start, self.text.len())
    }

    fn push(&mut self, key: &str, value: &str) {
        let key = self.append(key);
        let value = self.append(value);
        self.spans.push(Span { key, value });
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.spans.iter().position(|span| self.key(span) == key)
    }

    /// Point entry `at` at `value`; the old value's bytes become dead.
    fn replace_value(&mut self, at: usize, value: &str) {
        let (start, end) = self.spans[at].value;
        self.dead += end - start;
        self.spans[at].value = self.append(value);
        self.compact_if_sparse();
    }

    /// Drop entry `at`, returning its value.
    fn remove(&mut self, at: usize) -> String {
        let span = self.spans.remove(at);
        let value = self.slice(span.value).to_owned();
        self.dead += (span.key.1 - span.key.0) + (span.value.1 - span.value.0);
        self.compact_if_sparse();
        value
    }

    /// Repack once dead bytes outweigh live ones, so a set edited over and
    /// over in place stays the size of what it holds.
    fn compact_if_sparse(&mut self) {
        if self.dead < 256 || self.dead < self.text.len() / 2 {
            return;
        }
        let mut packed = Self::with_capacity(self.spans.len(), self.text.len() - self.dead);
        for span in &self.spans {
            packed.push(self.key(span), self.slice(span.value));
        }
        *self = packed;
    }
}

impl Metadata {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Self::with_room(n, n * 32)
    }

    /// A set with room for `entries` entries of `text` bytes in all.
    pub(crate) fn with_room(entries: usize, text: usize) -> Self {
        let entries = (entries > 0).then(|| Arc::new(Entries::with_capacity(entries, text)));
        Self { entries, lossy: false }
    }

    /// The entries to change, copied first when a clone shares them.
    fn entries_mut(&mut self) -> &mut Entries {
        Arc::make_mut(self.entries.get_or_insert_with(Default::default))
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        let entries = self.entries.as_deref()?;
        entries.position(key).map(|at| entries.slice(entries.spans[at].value))
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.entries.as_deref().is_some_and(|entries| entries.position(key).is_some())
    }

    /// Set `key` to `value`, replacing an existing entry in place.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        let entries = self.entries_mut();
        match entries.position(key) {
            Some(at) => entries.replace_value(at, value),
            None => entries.push(key, value),
        }
    }

    /// Builder-style [`Metadata::insert`].
    pub fn with(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.insert(key, value);
        self
    }

    /// Remove `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let at = self.entries.as_deref()?.position(key)?;
        Some(self.entries_mut().remove(at))
    }

    /// A copy without `keys`.
    pub fn without(&self, keys: &[&str]) -> Self {
        let kept = self.iter().filter(|(k, _)| !keys.contains(k));
        let mut out: Self = kept.collect();
        out.lossy = self.lossy;
        out
    }

    /// Whether the peer sent bytes that were not UTF-8 (replaced by `?` when read).
    pub fn had_invalid_utf8(&self) -> bool {
        self.lossy
    }

    pub(crate) fn set_lossy(&mut self, lossy: bool) {
        self.lossy = lossy;
    }

    /// Append without checking for an existing key (used by the reader).
    pub(crate) fn push_raw(&mut self, key: &str, value: &str) {
        self.entries_mut().push(key, value);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.as_deref().map_or(0, |entries| entries.spans.len())
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .flat_map(|entries| entries.spans.iter().map(|span| (entries.key(span), entries.slice(span.value))))
    }
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        self.lossy == other.lossy && self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Metadata {}

impl std::fmt::Debug for Metadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("Metadata");
        out.field("entries", &self.iter().collect::<Vec<_>>());
        out.field("lossy", &self.lossy).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Metadata {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut m = Metadata::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_in_place_and_keeps_order() {
        let mut m = Metadata::new().with("a", "1").with("b", "2");
        m.insert("a", "3");
        let pairs: Vec<_> = m.iter().collect();
        assert_eq!(pairs, vec![("a", "3"), ("b", "2")]);
        assert_eq!(m.remove("a").as_deref(), Some("3"));
        assert_eq!(m.get("a"), None);
        assert!(m.contains("b"));
    }

    #[test]
    fn a_clone_shares_until_one_side_changes() {
        let a = Metadata::new().with("k", "v").with("x", "y");
        let mut b = a.clone();
        b.insert("k", "changed");
        b.remove("x");
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![("k", "v"), ("x", "y")]);
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![("k", "changed")]);
        assert_ne!(a, b);
        assert_eq!(a.without(&["x"]), Metadata::new().with("k", "v"));
    }

    #[test]
    fn a_value_replaced_over_and_over_does_not_grow_the_buffer() {
        let mut m = Metadata::new().with("keep", "me");
        for i in 0..10_000 {
            m.insert("progress", format!("{i:>8}"));
        }
        let entries = m.entries.as_deref().expect("entries");
        assert!(entries.text.len() <= 2 * 512, "text grew to {} bytes", entries.text.len());
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![("keep", "me"), ("progress", "    9999")]);
        m.remove("keep");
        assert_eq!(m.get("progress"), Some("    9999"));
    }

    #[test]
    fn an_empty_set_equals_one_emptied() {
        let mut m = Metadata::with_capacity(4).with("a", "1");
        m.remove("a");
        assert!(m.is_empty());
        assert_eq!(m, Metadata::new());
        assert_eq!(m.get("a"), None);
    }
}
