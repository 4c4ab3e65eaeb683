//! The responder's in-process cache of pre-signed responses: the hot path answers from memory
//! instead of reading a row per request. Revocations reach it two ways: this process forgets a
//! serial the moment it re-signs its response, and a watcher polls the store's revocation epoch
//! so that revocations made elsewhere (another node, `signet revoke`) clear it within a poll.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use signet_domain::serial::Serial;
use time::OffsetDateTime;

/// How long a cached response is served before the store is asked again (it picks up the
/// refresh job's newer signature; revocations do not wait for this).
pub const CACHE_TTL: Duration = Duration::from_secs(300);
/// How often the watcher reads the store's revocation epoch.
pub const EPOCH_POLL: Duration = Duration::from_millis(500);
/// Entries kept at most (about 1 KB each); a full cache starts over rather than grow.
pub const CACHE_CAPACITY: usize = 200_000;

/// A pre-signed response as served: DER plus what its caching headers need.
#[derive(Debug, Clone)]
pub struct CachedResponse {
    pub issuer: String,
    pub der: Bytes,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    /// Strong validator: the first 16 octets of the response's SHA-256, hex, quoted.
    pub etag: String,
    /// thisUpdate and nextUpdate as IMF-fixdates (Last-Modified, Expires), formatted once.
    pub last_modified: String,
    pub expires: String,
}

/// IMF-fixdate (RFC 9110 §5.6.7).
pub fn http_date(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

#[derive(Debug)]
struct Entry {
    response: Arc<CachedResponse>,
    cached_at: Instant,
}

#[derive(Debug, Default)]
pub struct OcspCache {
    entries: RwLock<HashMap<Serial, Entry>>,
    /// Bumped by every forget/clear. A fill that read the store before a bump does not insert,
    /// so a response read before a revocation never outlives it in the cache.
    generation: AtomicU64,
    /// The store's revocation epoch last seen by the watcher.
    epoch: AtomicU64,
}

impl OcspCache {
    /// The generation to hand back to [`OcspCache::insert`] after reading the store.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn get(&self, serial: &Serial, now: OffsetDateTime) -> Option<Arc<CachedResponse>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let e = entries.get(serial)?;
        (e.cached_at.elapsed() < CACHE_TTL && e.response.next_update > now)
            .then(|| e.response.clone())
    }

    pub fn insert(&self, serial: Serial, response: Arc<CachedResponse>, read_at_generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        // Checked under the write lock: forget/clear bump the generation holding it too.
        if self.generation.load(Ordering::Acquire) != read_at_generation {
            return;
        }
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(
            serial,
            Entry {
                response,
                cached_at: Instant::now(),
            },
        );
    }

    pub fn forget(&self, serial: &Serial) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(serial);
    }

    /// Called with the store's revocation epoch; clears everything when it moved.
    pub fn observe_epoch(&self, epoch: u64) -> bool {
        if self.epoch.swap(epoch, Ordering::AcqRel) == epoch {
            return false;
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        true
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(next_update: OffsetDateTime) -> Arc<CachedResponse> {
        Arc::new(CachedResponse {
            issuer: "class3".into(),
            der: Bytes::from_static(b"\x30\x03\x0a\x01\x00"),
            this_update: next_update - time::Duration::days(7),
            next_update,
            etag: "\"x\"".into(),
            last_modified: String::new(),
            expires: String::new(),
        })
    }

    #[test]
    fn http_dates_are_imf_fixdates() {
        let t = OffsetDateTime::from_unix_timestamp(1_795_651_200).expect("time");
        assert_eq!(http_date(t), "Thu, 26 Nov 2026 00:00:00 GMT");
    }

    #[test]
    fn a_fill_read_before_a_revocation_is_dropped() {
        let cache = OcspCache::default();
        let serial = Serial::from_entropy([1; 16]);
        let now = OffsetDateTime::now_utc();
        let before = cache.generation();
        cache.forget(&serial); // the revocation re-signs while the fill was reading
        cache.insert(
            serial.clone(),
            response(now + time::Duration::days(1)),
            before,
        );
        assert!(cache.get(&serial, now).is_none());
        cache.insert(
            serial.clone(),
            response(now + time::Duration::days(1)),
            cache.generation(),
        );
        assert!(cache.get(&serial, now).is_some());
    }

    #[test]
    fn stale_responses_are_not_served_and_epochs_clear() {
        let cache = OcspCache::default();
        let serial = Serial::from_entropy([2; 16]);
        let now = OffsetDateTime::now_utc();
        cache.insert(
            serial.clone(),
            response(now - time::Duration::seconds(1)),
            0,
        );
        assert!(cache.get(&serial, now).is_none(), "past nextUpdate");
        cache.insert(serial.clone(), response(now + time::Duration::days(1)), 0);
        assert!(!cache.observe_epoch(0), "same epoch keeps entries");
        assert!(cache.get(&serial, now).is_some());
        assert!(cache.observe_epoch(1));
        assert!(cache.is_empty());
    }
}
