//! A bounded cache of resolved stream calls, so a warm worker skips
//! opening the call token on every continuation. Oldest entries go first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use vgi_rpc_core::stateless::{CallId, StreamCall};
use vgi_rpc_core::AuthContext;

/// Who a cached call belongs to: protocol, identity and the authenticated call id.
type Key = (String, bool, String, String, CallId);

fn key(protocol: &str, auth: &AuthContext, call_id: &CallId) -> Key {
    (protocol.to_owned(), auth.authenticated, auth.domain.clone(), auth.principal.clone(), *call_id)
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<Key, Arc<StreamCall>>,
    order: VecDeque<Key>,
}

/// Resolved calls by (protocol, identity, call id); capacity 0 disables it.
#[derive(Debug)]
pub struct CallCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl CallCache {
    /// A cache holding at most `capacity` calls.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, entries: Mutex::new(Entries::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The cached call, if present.
    pub fn get(&self, protocol: &str, auth: &AuthContext, call_id: &CallId) -> Option<Arc<StreamCall>> {
        if self.capacity == 0 {
            return None;
        }
        self.lock().map.get(&key(protocol, auth, call_id)).cloned()
    }

    /// Remember `call`, evicting the oldest entry when full.
    pub fn put(&self, protocol: &str, auth: &AuthContext, call: Arc<StreamCall>) {
        if self.capacity == 0 {
            return;
        }
        let k = key(protocol, auth, &call.call_id);
        let mut entries = self.lock();
        if entries.map.insert(k.clone(), call).is_none() {
            entries.order.push_back(k);
        }
        while entries.order.len() > self.capacity {
            if let Some(old) = entries.order.pop_front() {
                entries.map.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vgi_rpc_core::wire::EncodedSchema;

    fn call(id: u8) -> Arc<StreamCall> {
        Arc::new(StreamCall {
            call_id: [id; 16],
            method: "m".into(),
            output_schema: Arc::new(EncodedSchema::empty().clone()),
            input_schema: Arc::new(EncodedSchema::empty().clone()),
            stream_id: "s".into(),
            response_limit: None,
        })
    }

    #[test]
    fn entries_are_per_identity_and_bounded() {
        let cache = CallCache::new(2);
        let alice = AuthContext::authenticated("bearer", "alice");
        let anon = AuthContext::anonymous();
        cache.put("P", &alice, call(1));
        assert!(cache.get("P", &alice, &[1; 16]).is_some());
        assert!(cache.get("P", &anon, &[1; 16]).is_none(), "another identity never hits");
        assert!(cache.get("Q", &alice, &[1; 16]).is_none(), "another protocol never hits");
        cache.put("P", &alice, call(2));
        cache.put("P", &alice, call(3));
        assert!(cache.get("P", &alice, &[1; 16]).is_none(), "the oldest entry was evicted");
        assert!(cache.get("P", &alice, &[3; 16]).is_some());
        let off = CallCache::new(0);
        off.put("P", &alice, call(1));
        assert!(off.get("P", &alice, &[1; 16]).is_none());
    }
}
