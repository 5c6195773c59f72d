//! What the store keeps: objects, references between them, changes, audit
//! entries, API tokens and signing keys.

use chrono::{SecondsFormat, Utc};
use serde::Serialize;

/// The kinds of administered object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A reusable Access policy (`/access/policies`).
    Policy,
    /// An application-scoped Access policy (`/access/apps/{app}/policies`).
    AppPolicy,
    App,
    Group,
    /// A Zero Trust list (`/gateway/lists`).
    List,
    ServiceToken,
    /// A Google ACM access policy (`/v1/accessPolicies`): the container of levels.
    AcmPolicy,
    /// A Google ACM access level; its id is the full level name.
    AccessLevel,
    /// A finished Google long-running operation (`/v1/operations/{id}`).
    AcmOperation,
    /// A ZTNA access policy (`/v1/accounts/{id}/ztna/policies`).
    ZtnaPolicy,
    /// A PingOne Authorize policy (`/v1/environments/{env}/authorizationPolicies`).
    AuthorizePolicy,
    /// A PingOne decision endpoint (`/v1/environments/{env}/decisionEndpoints`).
    DecisionEndpoint,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Policy,
        Kind::AppPolicy,
        Kind::App,
        Kind::Group,
        Kind::List,
        Kind::ServiceToken,
        Kind::AcmPolicy,
        Kind::AccessLevel,
        Kind::AcmOperation,
        Kind::ZtnaPolicy,
        Kind::AuthorizePolicy,
        Kind::DecisionEndpoint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Policy => "policy",
            Kind::AppPolicy => "app_policy",
            Kind::App => "app",
            Kind::Group => "group",
            Kind::List => "list",
            Kind::ServiceToken => "service_token",
            Kind::AcmPolicy => "acm_policy",
            Kind::AccessLevel => "access_level",
            Kind::AcmOperation => "acm_operation",
            Kind::ZtnaPolicy => "ztna_policy",
            Kind::AuthorizePolicy => "authorize_policy",
            Kind::DecisionEndpoint => "decision_endpoint",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The store key of an owner: an account id as is, a zone id as `zone:<id>`
/// (zone-scoped objects are owned by the zone exactly as account-scoped ones are
/// owned by the account).
pub fn owner_key(zone: bool, id: &str) -> String {
    if zone {
        format!("zone:{id}")
    } else {
        id.to_string()
    }
}

/// One stored object: its validated wire document and bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredObject {
    pub account_id: String,
    pub kind: Kind,
    pub id: String,
    pub doc: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

impl StoredObject {
    /// The document with its `id`, as the wire formats carry it.
    pub fn doc_with_id(&self) -> serde_json::Value {
        let mut doc = self.doc.clone();
        if let Some(map) = doc.as_object_mut() {
            map.insert("id".into(), self.id.clone().into());
        }
        doc
    }
}

/// A reference from one object to another (an app to its policies, a rule to a
/// group, list or service token).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ObjectRef {
    pub kind: Kind,
    pub id: String,
}

impl ObjectRef {
    pub fn new(kind: Kind, id: impl Into<String>) -> Self {
        ObjectRef {
            kind,
            id: id.into(),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Create => "create",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeOp> {
        match s {
            "create" => Some(ChangeOp::Create),
            "update" => Some(ChangeOp::Update),
            "delete" => Some(ChangeOp::Delete),
            _ => None,
        }
    }
}

/// One entry of the change feed. Every object touched by one write shares the
/// write's `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub seq: i64,
    pub account_id: String,
    pub kind: Kind,
    pub object_id: String,
    pub op: ChangeOp,
}

/// One object changed by one write, who did it and what it looked like.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub token_id: String,
    pub at: String,
    pub kind: Kind,
    pub object_id: String,
    pub op: ChangeOp,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// An admin API token. Only the SHA-256 of its secret is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub secret_sha256: [u8; 32],
    /// `None`: every account.
    pub account_id: Option<String>,
    pub read_only: bool,
    pub created_at: String,
    /// May only call the decision API (`POST /v1/accounts/{id}/decide`), never
    /// the admin API.
    pub decision_only: bool,
}

/// A token signing key (RS256), published until retired tokens expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub private_pem: String,
    pub created_at: String,
    pub retired_at: Option<String>,
}

/// Timestamps as Cloudflare writes them: RFC 3339, UTC, microseconds.
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}
