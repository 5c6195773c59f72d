//! Service token secrets. Only a SHA-256 of each secret is kept: secrets are
//! generated with 256 bits of randomness, so a fast hash is enough (no password
//! stretching), and comparisons run in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The stored form of a client secret.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `secret` hashes to `expected`, compared in constant time.
pub fn secret_matches(secret: &str, expected: &[u8; 32]) -> bool {
    hash_secret(secret).ct_eq(expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_right_secret() {
        let stored = hash_secret("s3cret");
        assert!(secret_matches("s3cret", &stored));
        assert!(!secret_matches("s3cret ", &stored));
    }
}
