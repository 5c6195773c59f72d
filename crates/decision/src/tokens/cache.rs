//! A bounded cache of application tokens whose signature has already been
//! verified, so a session's every forward-auth request does not pay for an RSA
//! verification.
//!
//! What is cached is only "this exact token string carries a valid RS256
//! signature of this key and names this issuer": the key is the whole token
//! (header, payload and signature, compared in full), so a token that differs in
//! any byte, a forged signature over a cached payload included, misses and is
//! verified from scratch. Failures are never cached. An entry counts only while
//! the very key that verified it is still in the ring ([`Arc::ptr_eq`]; any
//! change to a key's record, its retirement included, makes a new one), and the
//! time-dependent and per-application checks (`exp`, `nbf`, `aud`, `type`,
//! `iss`) run again on every use. The identity in the claims is re-evaluated
//! against the live request by the caller every time, as without the cache.
//!
//! Sharded maps behind per-shard read-write locks: a hit takes one shard's read
//! lock and clones one `Arc`; no global lock, no allocation.

use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};

use rustc_hash::{FxBuildHasher, FxHashMap};

use super::claims::AppTokenClaims;
use super::keys::{KeySet, SigningKey};

const SHARDS: usize = 16;

struct Verified {
    key: Arc<SigningKey>,
    claims: Arc<AppTokenClaims>,
}

impl Verified {
    fn current(&self, keys: &KeySet) -> bool {
        keys.find(self.key.kid())
            .is_some_and(|k| Arc::ptr_eq(k, &self.key))
    }
}

type Shard = RwLock<FxHashMap<Box<str>, Verified>>;

/// Tokens already verified, at most `capacity` of them.
pub struct VerifiedTokens {
    shards: Box<[Shard]>,
    per_shard: usize,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens")
            .field("capacity", &(self.per_shard * SHARDS))
            .field("len", &self.len())
            .finish()
    }
}

impl VerifiedTokens {
    /// About 1–2 KiB per entry (the token and its claims): ~16 MiB at most.
    pub const DEFAULT_CAPACITY: usize = 8192;

    /// A cache of at most `capacity` tokens (rounded up to a multiple of the
    /// shard count); 0 disables it.
    pub fn new(capacity: usize) -> Self {
        VerifiedTokens {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    fn shard(&self, token: &str) -> &Shard {
        let hash = FxBuildHasher.hash_one(token);
        // Middle bits: the map itself uses the lowest (bucket) and the top
        // seven (tag) of the same hash.
        &self.shards[(hash >> 32) as usize % SHARDS]
    }

    /// The claims of `token` if it was verified with a key `keys` still holds.
    /// The caller still checks the claims against the request and the time.
    pub(crate) fn get(&self, token: &str, keys: &KeySet) -> Option<Arc<AppTokenClaims>> {
        if self.per_shard == 0 {
            return None;
        }
        let shard = self.shard(token).read().ok()?;
        let entry = shard.get(token)?;
        entry.current(keys).then(|| entry.claims.clone())
    }

    /// Remembers a token whose signature `key` has just verified.
    pub(crate) fn insert(
        &self,
        token: &str,
        key: Arc<SigningKey>,
        claims: Arc<AppTokenClaims>,
        keys: &KeySet,
        now: i64,
    ) {
        if self.per_shard == 0 {
            return;
        }
        let Ok(mut shard) = self.shard(token).write() else {
            return;
        };
        if shard.len() >= self.per_shard && !shard.contains_key(token) {
            // Full: drop what can no longer be used, then, if still too many,
            // arbitrary entries down to 7/8 so the next inserts do not sweep again.
            shard.retain(|_, v| v.claims.exp > now && v.current(keys));
            let keep = self.per_shard - self.per_shard.div_ceil(8);
            if shard.len() > keep {
                let excess: Vec<Box<str>> =
                    shard.keys().take(shard.len() - keep).cloned().collect();
                for k in excess {
                    shard.remove(&k);
                }
            }
        }
        shard.insert(Box::from(token), Verified { key, claims });
    }

    /// Tokens held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map(|m| m.len()).unwrap_or(0))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
