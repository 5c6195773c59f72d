//! The workload the criterion benches share: an account of `apps` applications
//! with `policies_per_app` policies each, built directly as IR (core cannot
//! depend on the wire formats), and the requests that hit, miss and deny.
//!
//! Every application has the same shape, shifted by its index: a Bypass policy
//! for one documentation address, a Block policy for an Access group, and Allow
//! policies for an email domain or an IP list that also require MFA and a device
//! posture check and exclude one country. A request for app 0 therefore walks
//! one, two or three policies depending on who sends it.

// Each bench binary uses a different part of this module.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use portcullis_core::context::{Device, Identity, Network, Resource};
use portcullis_core::ir::{
    AccessGroupIr, AccessPolicyIr, AccountIr, AppIr, AppPolicyRef, Condition, ListIr, ListKind,
    PolicyAction, Predicate,
};
use portcullis_core::RequestContext;

const GROUPS: usize = 100;
const LISTS: usize = 50;

fn leaf(p: Predicate) -> Condition {
    Condition::Leaf(p)
}

fn net(text: &str) -> ipnet::IpNet {
    text.parse().expect("bench CIDRs are valid")
}

/// Allow policy `j` (j ≥ 2) of app `a`: its own email domain or IP list.
fn allow(a: usize, j: usize) -> AccessPolicyIr {
    AccessPolicyIr {
        id: format!("pol-{a}-{j}"),
        action: PolicyAction::Allow,
        include: vec![
            leaf(Predicate::EmailDomain(format!("d{a}-{j}.example"))),
            leaf(Predicate::IpList(format!("list-{}", (a + j) % LISTS))),
        ],
        require: vec![
            leaf(Predicate::AuthMethod("mfa".into())),
            leaf(Predicate::DevicePosture(format!("posture-{}", a % 10))),
        ],
        exclude: vec![leaf(Predicate::Country(vec!["RU".into()]))],
        obligations: Default::default(),
    }
}

pub fn account(apps: usize, policies_per_app: usize) -> AccountIr {
    let groups = (0..GROUPS)
        .map(|g| AccessGroupIr {
            id: format!("grp-{g}"),
            include: (0..6)
                .map(|m| leaf(Predicate::Email(format!("m{g}-{m}@corp.example"))))
                .chain([leaf(Predicate::EmailDomain(format!("g{g}.example")))])
                .collect(),
            require: Vec::new(),
            exclude: vec![leaf(Predicate::Email(format!("m{g}-9@corp.example")))],
        })
        .collect();
    let lists = (0..LISTS)
        .map(|l| ListIr {
            id: format!("list-{l}"),
            kind: ListKind::Ip,
            items: (0..5).map(|k| format!("10.{l}.{k}.0/24")).collect(),
        })
        .collect();
    let mut policies = Vec::with_capacity(apps * policies_per_app);
    let mut app_irs = Vec::with_capacity(apps);
    for a in 0..apps {
        let mut refs = Vec::with_capacity(policies_per_app);
        for j in 0..policies_per_app {
            let policy = match j {
                0 => AccessPolicyIr {
                    id: format!("pol-{a}-0"),
                    action: PolicyAction::Bypass,
                    include: vec![leaf(Predicate::IpIn(vec![net(&format!(
                        "192.0.2.{}/32",
                        a % 256
                    ))]))],
                    require: Vec::new(),
                    exclude: Vec::new(),
                    obligations: Default::default(),
                },
                1 => AccessPolicyIr {
                    id: format!("pol-{a}-1"),
                    action: PolicyAction::Deny,
                    include: vec![leaf(Predicate::Group(format!("grp-{}", a % GROUPS)))],
                    require: Vec::new(),
                    exclude: Vec::new(),
                    obligations: Default::default(),
                },
                j => allow(a, j),
            };
            refs.push(AppPolicyRef {
                policy_id: policy.id.clone(),
                precedence: j as i64 + 1,
            });
            policies.push(policy);
        }
        app_irs.push(AppIr {
            id: format!("app-{a}"),
            aud: None,
            destinations: vec![format!("app-{a}.example.com")],
            policies: refs,
            session_duration: None,
        });
    }
    AccountIr {
        account_id: "bench".into(),
        groups,
        lists,
        policies,
        apps: app_irs,
        ..AccountIr::default()
    }
}

fn request_for(email: &str, ip: &str, country: &str) -> RequestContext {
    RequestContext {
        resource: Some(Resource {
            app_id: Some("app-0".into()),
            ..Resource::default()
        }),
        identity: Some(Identity {
            email: Some(email.into()),
            amr: vec!["pwd".into(), "mfa".into()],
            ..Identity::default()
        }),
        network: Some(Network {
            ip: Some(ip.parse().expect("bench addresses are valid")),
            country: Some(country.into()),
            ..Network::default()
        }),
        device: Some(Device {
            posture_passed: vec!["posture-0".into(), "posture-3".into()],
            ..Device::default()
        }),
        time: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).single(),
        ..RequestContext::default()
    }
}

/// Allowed by app 0's third policy, after the Bypass and Block policies failed.
pub fn hit() -> RequestContext {
    request_for("alice@d0-2.example", "203.0.113.9", "US")
}

/// No policy of app 0 matches: every policy is evaluated, then deny.
pub fn miss() -> RequestContext {
    request_for("mallory@elsewhere.example", "203.0.113.9", "US")
}

/// Blocked by app 0's second policy: the sender is in its Access group.
pub fn deny() -> RequestContext {
    request_for("m0-3@corp.example", "203.0.113.9", "US")
}
