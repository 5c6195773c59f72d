//! Access service tokens: a client id and secret that machines present in
//! `CF-Access-Client-Id` / `CF-Access-Client-Secret`.

use chrono::{DateTime, Utc};
use portcullis_core::ir::ServiceTokenIr;
use serde::{Deserialize, Serialize};

use crate::error::ValidationErrors;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Only present when the token is created or rotated, or in corpus files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// How long the token is valid (`8760h`, or `forever`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_version: Option<serde_json::Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_client_secret_expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Cloudflare's default token lifetime: one year.
pub const DEFAULT_TOKEN_DURATION: &str = "8760h";

impl ServiceToken {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        super::check_name(&self.name, &mut errors);
        if let Some(d) = &self.duration {
            if d != "forever" {
                if let Err(e) = portcullis_core::duration::parse_go_duration(d) {
                    errors.push("duration", format!("{d:?} {e}; use e.g. 8760h or forever"));
                }
            }
        }
        errors.into_result()
    }

    /// Lowers a token whose secret is known only by its hash.
    pub fn lower(&self, id: &str, secret_sha256: [u8; 32]) -> ServiceTokenIr {
        ServiceTokenIr {
            id: id.to_string(),
            client_id: self.client_id.clone().unwrap_or_default(),
            secret_sha256,
            expires_at: self.expires_at,
        }
    }
}
