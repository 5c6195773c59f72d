//! The certs document, shaped like Cloudflare's `/cdn-cgi/access/certs`:
//! `keys` (JWKS), `public_cert` (the signing key) and `public_certs` (all of them).

use serde::{Deserialize, Serialize};

use super::keys::{Jwk, KeySet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertEntry {
    pub kid: String,
    pub cert: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertsDocument {
    pub keys: Vec<Jwk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_cert: Option<CertEntry>,
    pub public_certs: Vec<CertEntry>,
}

impl CertsDocument {
    pub fn from_keys(keys: &KeySet) -> CertsDocument {
        let entry = |k: &super::keys::SigningKey| CertEntry {
            kid: k.kid().to_string(),
            cert: k.cert_pem.clone(),
        };
        CertsDocument {
            keys: keys.published.iter().map(|k| k.jwk.clone()).collect(),
            public_cert: keys.active.as_deref().map(entry),
            public_certs: keys.published.iter().map(|k| entry(k)).collect(),
        }
    }
}
