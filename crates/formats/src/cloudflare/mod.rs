//! Cloudflare Access: wire types as the Cloudflare API v4 writes them, their
//! validation, and their lowering into the IR.

mod app;
mod group;
mod list;
mod policy;
mod rule;
mod service_token;

pub use app::{
    AccessApplication, AppDestination, AppPolicyEntry, AttachedKind, AttachedPolicy, APP_TYPES,
    PASSTHROUGH_FIELDS,
};
pub use group::AccessGroup;
pub use list::{validate_item, ListItem, ListType, ZeroTrustList};
pub use policy::{
    AccessPolicy, ApprovalGroup, Authenticator, ClipboardFormat, ConnectionRules, MfaConfig,
    PolicyDecision, RdpConnectionRules,
};
pub use rule::{
    looks_like_email, lower_rules, validate_rules, AccessRule, RuleReference, RULE_TYPES,
};
pub use service_token::{ServiceToken, DEFAULT_TOKEN_DURATION};

/// A reference from a rule to another object, with the path of the field holding
/// the id (`include[0].group.id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef<'a> {
    pub path: String,
    pub kind: RuleReference,
    pub id: &'a str,
}

/// Cloudflare's `name`, which every Access object needs: present and not blank.
pub(crate) fn check_name(name: &Option<String>, errors: &mut crate::ValidationErrors) {
    match name {
        None => errors.push("name", "is required"),
        Some(n) if n.trim().is_empty() => errors.push("name", "must not be empty"),
        Some(_) => {}
    }
}

/// Every reference the rules of a policy or group make.
pub fn rule_references<'a>(lists: [(&'static str, &'a [AccessRule]); 3]) -> Vec<RuleRef<'a>> {
    let mut out = Vec::new();
    for (field, rules) in lists {
        for (i, rule) in rules.iter().enumerate() {
            if let Some((kind, id)) = rule.reference() {
                out.push(RuleRef {
                    path: format!("{field}[{i}].{}.{}", rule.type_name(), kind.field()),
                    kind,
                    id,
                });
            }
        }
    }
    out
}
