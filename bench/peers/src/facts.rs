//! What the peer engines are told about a request, and what every engine answers.
//!
//! Cedar and Rego have no notion of a hashed service-token secret or of
//! Cloudflare's case-insensitive emails, so the harness does that part for them
//! once per request, before the clock starts: the token is resolved to its id and
//! the email lower-cased. portcullis does both inside every timed decision, so
//! this favours the peers slightly.

use std::collections::HashMap;
use std::net::IpAddr;

use portcullis_core::service_token::hash_secret;
use portcullis_core::RequestContext;
use portcullis_formats::corpus::Setup;

/// The request as plain facts.
#[derive(Debug, Clone)]
pub struct Facts {
    pub app: String,
    pub identity: bool,
    pub email: Option<String>,
    pub ip: Option<IpAddr>,
    pub country: Option<String>,
    pub amr: Vec<String>,
    pub posture: Vec<String>,
    /// The id of the presented service token when it is valid.
    pub token: Option<String>,
}

/// Resolves presented service tokens the way portcullis does: known client id
/// and matching secret (the workload's tokens never expire).
pub struct TokenTable(HashMap<String, (String, [u8; 32])>);

impl TokenTable {
    pub fn new(setup: &Setup) -> TokenTable {
        TokenTable(
            setup
                .service_tokens
                .iter()
                .map(|t| {
                    let client_id = t
                        .client_id
                        .clone()
                        .expect("workload tokens have a client id");
                    let secret = t
                        .client_secret
                        .as_deref()
                        .expect("workload tokens have a secret");
                    let id = t.id.clone().expect("workload tokens have an id");
                    (client_id, (id, hash_secret(secret)))
                })
                .collect(),
        )
    }

    pub fn facts(&self, req: &RequestContext) -> Facts {
        let identity = req.identity.as_ref();
        let token = req.service_token.as_ref().and_then(|t| {
            let (id, hash) = self.0.get(&t.client_id)?;
            (hash_secret(&t.client_secret) == *hash).then(|| id.clone())
        });
        Facts {
            app: req
                .resource
                .as_ref()
                .and_then(|r| r.host.as_deref())
                .map(app_of_host)
                .unwrap_or_default(),
            identity: identity.is_some(),
            email: identity
                .and_then(|i| i.email.as_deref())
                .map(str::to_lowercase),
            ip: req.network.as_ref().and_then(|n| n.ip),
            country: req
                .network
                .as_ref()
                .and_then(|n| n.country.as_deref())
                .map(str::to_uppercase),
            amr: identity.map(|i| i.amr.clone()).unwrap_or_default(),
            posture: req
                .device
                .as_ref()
                .map(|d| d.posture_passed.clone())
                .unwrap_or_default(),
            token,
        }
    }
}

/// One engine's answer, in portcullis's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub decision: String,
    pub policy_id: Option<String>,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.policy_id {
            Some(p) => write!(f, "{} by {p}", self.decision),
            None => f.write_str(&self.decision),
        }
    }
}

/// The application id a request host belongs to (empty when none).
pub fn app_of_host(host: &str) -> String {
    host.strip_suffix(".example.com")
        .filter(|name| name.starts_with("app-"))
        .map(str::to_string)
        .unwrap_or_default()
}
