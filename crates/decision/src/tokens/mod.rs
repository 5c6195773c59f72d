//! Application tokens (DESIGN.md "Tokens"): RS256 JWTs with `kid`, issued on an
//! allow or non_identity decision, accepted back by forward-auth, and the
//! `/cdn-cgi/access/certs` document that publishes the keys.

mod cache;
mod certs;
mod claims;
mod keys;

pub use cache::VerifiedTokens;
pub use certs::{CertEntry, CertsDocument};
pub use claims::{app_audience, hex, issue, verify, AppTokenClaims, TokenError, TOKEN_TYPE_APP};
pub use keys::{Jwk, KeyError, KeyRing, KeySet, KeyStore, MemoryKeyStore, SigningKey, StoredKey};
