//! A ZTNA policy set: 1,000 policies over 200 applications (by id, some with
//! ports) and 100 hosts (by fqdn and ports), each with 1–3 subjects (users by
//! email or user id, groups with or without an identity provider, workloads,
//! service accounts), conditions (device posture, MFA, geo, time windows in
//! several zones, some crossing midnight, risk score) and decisions allow /
//! deny / require_mfa / isolate; a few are disabled, some carry session limits.
//! The oracle applies DESIGN.md's rules (most restrictive applicable policy
//! wins) to the generator's own description.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use portcullis_core::context::{
    Device, Identity, IdentityProvider, Network, Resource, ServiceTokenCredentials,
};
use portcullis_core::decision::{Decision, Obligations};
use portcullis_core::RequestContext;
use portcullis_formats::cloudflare::ServiceToken;
use portcullis_formats::corpus::Setup;
use portcullis_formats::ztna::ZtnaPolicy;
use serde_json::{json, Value};

use super::{wire, Expected, Rng, RngExt, Workload};

const POLICIES: usize = 1_000;
const APPS: usize = 200;
const HOSTS: usize = 100;
const USERS: usize = 300;
const GROUPS: usize = 30;
const WORKLOADS: usize = 20;
const TOKENS: usize = 5;
const POSTURE: usize = 10;
const REQUESTS: usize = 10_000;
const IDPS: &[&str] = &["okta-main", "azure-corp"];
const COUNTRIES: &[&str] = &["US", "DE", "FR", "GB", "JP", "BR", "IN"];
const PORTS: &[u16] = &[22, 443, 8443, 5432];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Effect {
    Allow,
    Deny,
    RequireMfa,
    Isolate,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    User,
    Group,
    Workload,
    ServiceAccount,
}

#[derive(Debug, Clone)]
struct Subject {
    kind: Kind,
    id: String,
    idp: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct Res {
    app: Option<String>,
    fqdn: Option<String>,
    ports: Vec<u16>,
}

/// A weekly window: the days it starts on (bit 0 = Monday), minutes of the day,
/// and the zone (UTC when `None`).
#[derive(Debug, Clone)]
struct Window {
    text: &'static str,
    days: u8,
    start: u32,
    end: u32,
    zone: Option<Tz>,
}

#[derive(Debug, Clone)]
struct Spec {
    id: String,
    enabled: bool,
    effect: Effect,
    subjects: Vec<Subject>,
    resources: Vec<Res>,
    posture: Vec<String>,
    mfa: bool,
    geo: Vec<&'static str>,
    window: Option<Window>,
    risk_max: Option<u8>,
    max_duration: Option<u64>,
    reauth: Option<u64>,
}

/// The request as plain facts.
#[derive(Debug, Clone, Default)]
struct Facts {
    app: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    email: Option<String>,
    user_id: Option<String>,
    idp: Option<&'static str>,
    groups: Vec<String>,
    workload: Option<String>,
    /// (client id, whether the secret is right)
    token: Option<(String, bool)>,
    amr_mfa: bool,
    posture: Vec<String>,
    country: Option<&'static str>,
    risk: Option<u8>,
    time: DateTime<Utc>,
}

fn windows() -> Vec<Window> {
    let zone = |name: &str| name.parse::<Tz>().ok();
    vec![
        Window {
            text: "Mon-Fri 08:00-18:00",
            days: 0b001_1111,
            start: 480,
            end: 1080,
            zone: None,
        },
        Window {
            text: "Mon-Fri 09:00-17:00 America/New_York",
            days: 0b001_1111,
            start: 540,
            end: 1020,
            zone: zone("America/New_York"),
        },
        Window {
            text: "Sat,Sun 10:00-16:00",
            days: 0b110_0000,
            start: 600,
            end: 960,
            zone: None,
        },
        Window {
            text: "* 22:00-06:00",
            days: 0b111_1111,
            start: 1320,
            end: 360,
            zone: None,
        },
        Window {
            text: "Fri-Mon 00:00-12:00 Europe/Berlin",
            days: 0b111_0001,
            start: 0,
            end: 720,
            zone: zone("Europe/Berlin"),
        },
        Window {
            text: "Tue,Thu 07:30-19:45 Asia/Tokyo",
            days: 0b000_1010,
            start: 450,
            end: 1185,
            zone: zone("Asia/Tokyo"),
        },
    ]
}

// ---------------------------------------------------------------- oracle

fn in_window(w: &Window, t: DateTime<Utc>) -> bool {
    let (weekday, minute) = match w.zone {
        Some(z) => {
            let local = t.with_timezone(&z);
            (
                local.weekday().num_days_from_monday(),
                local.hour() * 60 + local.minute(),
            )
        }
        None => (
            t.weekday().num_days_from_monday(),
            t.hour() * 60 + t.minute(),
        ),
    };
    let starts = |d: u32| w.days & (1 << d) != 0;
    if w.start < w.end {
        starts(weekday) && minute >= w.start && minute < w.end
    } else {
        (starts(weekday) && minute >= w.start) || (starts((weekday + 6) % 7) && minute < w.end)
    }
}

fn subject_matches(s: &Subject, f: &Facts) -> bool {
    let idp_ok = s.idp.is_none_or(|want| f.idp == Some(want));
    let who = match s.kind {
        Kind::User => {
            f.email
                .as_ref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&s.id))
                || f.user_id.as_deref() == Some(s.id.as_str())
        }
        Kind::Group => f.groups.contains(&s.id),
        Kind::Workload => f.workload.as_deref() == Some(s.id.as_str()),
        Kind::ServiceAccount => f.token.as_ref().is_some_and(|(c, ok)| *ok && *c == s.id),
    };
    who && idp_ok
}

fn resource_matches(r: &Res, f: &Facts) -> bool {
    r.app.as_ref().is_none_or(|a| f.app.as_ref() == Some(a))
        && r.fqdn
            .as_ref()
            .is_none_or(|h| f.host.as_ref().is_some_and(|fh| fh.eq_ignore_ascii_case(h)))
        && (r.ports.is_empty() || f.port.is_some_and(|p| r.ports.contains(&p)))
}

fn conditions_hold(p: &Spec, f: &Facts) -> bool {
    p.posture.iter().all(|x| f.posture.contains(x))
        && (!p.mfa || f.amr_mfa)
        && (p.geo.is_empty() || f.country.is_some_and(|c| p.geo.contains(&c)))
        && p.window.as_ref().is_none_or(|w| in_window(w, f.time))
        && p.risk_max.is_none_or(|m| f.risk.is_some_and(|r| r <= m))
}

fn expected(policies: &[Spec], f: &Facts) -> Expected {
    let governing: Vec<&Spec> = policies
        .iter()
        .filter(|p| p.enabled && p.resources.iter().any(|r| resource_matches(r, f)))
        .collect();
    let applicable: Vec<&Spec> = governing
        .iter()
        .copied()
        .filter(|p| p.subjects.iter().any(|s| subject_matches(s, f)) && conditions_hold(p, f))
        .collect();
    let first = |pred: &dyn Fn(&Spec) -> bool| applicable.iter().copied().find(|p| pred(p));
    let permitting: Vec<&Spec> = applicable
        .iter()
        .copied()
        .filter(|p| match p.effect {
            Effect::Allow | Effect::Isolate => true,
            Effect::RequireMfa => f.amr_mfa,
            Effect::Deny => false,
        })
        .collect();
    let (decision, by) = if let Some(p) = first(&|p| p.effect == Effect::Deny) {
        (Decision::Deny, Some(p))
    } else if let Some(p) = first(&|p| p.effect == Effect::RequireMfa && !f.amr_mfa) {
        (Decision::MfaRequired, Some(p))
    } else if let Some(p) =
        first(&|p| p.effect == Effect::Isolate).or_else(|| permitting.first().copied())
    {
        (Decision::Allow, Some(p))
    } else {
        // Governed by no applicable policy, or not governed at all: deny.
        (Decision::Deny, None)
    };
    let mut e = Expected::new(decision);
    e.policy_id = by.map(|p| p.id.clone());
    let mut o = Obligations::default();
    if decision == Decision::Allow {
        // The shortest session and re-authentication interval of the permitting
        // policies; isolation when any of them isolates.
        o.session_duration = permitting
            .iter()
            .filter_map(|p| p.max_duration)
            .min()
            .map(|s| format!("{s}s"));
        o.reauth_interval = permitting
            .iter()
            .filter_map(|p| p.reauth)
            .min()
            .map(|s| format!("{s}s"));
        o.isolation = permitting.iter().any(|p| p.effect == Effect::Isolate);
    }
    e.obligations = Some(o);
    e
}

// ------------------------------------------------------------- generator

fn email(k: usize) -> String {
    format!("user{k}@corp.example")
}

fn client_id(k: usize) -> String {
    format!("svc-client-{k}.access")
}

fn secret(k: usize) -> String {
    format!("secret-{k:02}-0123456789abcdef")
}

fn subject(rng: &mut Rng) -> Subject {
    let idp = |rng: &mut Rng, p: u64| rng.chance(p).then(|| *rng.pick(IDPS));
    match rng.below(10) {
        0..=3 => Subject {
            kind: Kind::User,
            id: if rng.chance(75) {
                email(rng.below(USERS))
            } else {
                format!("u-{}", rng.below(USERS))
            },
            idp: idp(rng, 20),
        },
        4..=7 => Subject {
            kind: Kind::Group,
            id: format!("grp-{}", rng.below(GROUPS)),
            idp: idp(rng, 50),
        },
        8 => Subject {
            kind: Kind::Workload,
            id: format!("spiffe://corp.example/ns/prod/sa/w{}", rng.below(WORKLOADS)),
            idp: None,
        },
        _ => Subject {
            kind: Kind::ServiceAccount,
            id: client_id(rng.below(TOKENS)),
            idp: None,
        },
    }
}

fn resource(rng: &mut Rng) -> Res {
    if rng.chance(60) {
        let ports = if rng.chance(20) {
            let k = rng.range(1, 2);
            rng.sample(PORTS, k)
        } else {
            Vec::new()
        };
        Res {
            app: Some(format!("app-{}", rng.below(APPS))),
            fqdn: None,
            ports,
        }
    } else {
        let ports = if rng.chance(50) {
            let k = rng.range(1, 3);
            rng.sample(PORTS, k)
        } else {
            Vec::new()
        };
        Res {
            app: None,
            fqdn: Some(format!("svc{}.corp.example", rng.below(HOSTS))),
            ports,
        }
    }
}

fn policy(rng: &mut Rng, i: usize, windows: &[Window]) -> Spec {
    let effect = match rng.below(20) {
        0..=11 => Effect::Allow,
        12..=14 => Effect::Deny,
        15..=17 => Effect::RequireMfa,
        _ => Effect::Isolate,
    };
    let n_subjects = rng.range(1, 3);
    let n_resources = rng.range(1, 2);
    let posture = if rng.chance(30) {
        let all: Vec<String> = (0..POSTURE).map(|k| format!("posture-{k}")).collect();
        let k = rng.range(1, 2);
        rng.sample(&all, k)
    } else {
        Vec::new()
    };
    let geo = if rng.chance(30) {
        let k = rng.range(1, 3);
        rng.sample(COUNTRIES, k)
    } else {
        Vec::new()
    };
    Spec {
        id: format!("00000000-0000-4000-8000-{i:012x}"),
        enabled: !rng.chance(5),
        effect,
        subjects: (0..n_subjects).map(|_| subject(rng)).collect(),
        resources: (0..n_resources).map(|_| resource(rng)).collect(),
        posture,
        mfa: rng.chance(20),
        geo,
        window: rng.chance(25).then(|| rng.pick(windows).clone()),
        risk_max: rng.chance(25).then(|| rng.range(30, 90) as u8),
        max_duration: rng
            .chance(30)
            .then(|| *rng.pick(&[3600u64, 7200, 28800, 86400])),
        reauth: rng.chance(15).then(|| *rng.pick(&[900u64, 1800, 3600])),
    }
}

fn policy_json(p: &Spec) -> Value {
    let subjects: Vec<Value> = p
        .subjects
        .iter()
        .map(|s| {
            let kind = match s.kind {
                Kind::User => "user",
                Kind::Group => "group",
                Kind::Workload => "workload",
                Kind::ServiceAccount => "service_account",
            };
            match s.idp {
                Some(idp) => json!({"type": kind, "id": s.id, "identity_provider": idp}),
                None => json!({"type": kind, "id": s.id}),
            }
        })
        .collect();
    let resources: Vec<Value> = p
        .resources
        .iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            if let Some(a) = &r.app {
                o.insert("type".into(), json!("application"));
                o.insert("id".into(), json!(a));
            }
            if let Some(h) = &r.fqdn {
                o.insert("type".into(), json!("host"));
                o.insert("fqdn".into(), json!(h));
            }
            if !r.ports.is_empty() {
                o.insert("ports".into(), json!(r.ports));
            }
            Value::Object(o)
        })
        .collect();
    let mut conditions = serde_json::Map::new();
    if !p.posture.is_empty() {
        conditions.insert("device_posture".into(), json!(p.posture));
    }
    if p.mfa {
        conditions.insert("mfa".into(), json!(true));
    }
    if !p.geo.is_empty() {
        conditions.insert("geo".into(), json!(p.geo));
    }
    if let Some(w) = &p.window {
        conditions.insert("time_window".into(), json!(w.text));
    }
    if let Some(m) = p.risk_max {
        conditions.insert("risk_score_max".into(), json!(m));
    }
    let mut o = serde_json::Map::new();
    o.insert("id".into(), json!(p.id));
    o.insert("name".into(), json!(format!("policy {}", p.id)));
    if !p.enabled {
        o.insert("enabled".into(), json!(false));
    }
    let decision = match p.effect {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
        Effect::RequireMfa => "require_mfa",
        Effect::Isolate => "isolate",
    };
    o.insert("decision".into(), json!(decision));
    o.insert("subjects".into(), Value::Array(subjects));
    o.insert("resources".into(), Value::Array(resources));
    if !conditions.is_empty() {
        o.insert("conditions".into(), Value::Object(conditions));
    }
    let mut session = serde_json::Map::new();
    if let Some(s) = p.max_duration {
        session.insert("max_duration_seconds".into(), json!(s));
    }
    if let Some(s) = p.reauth {
        session.insert("reauth_interval_seconds".into(), json!(s));
    }
    if !session.is_empty() {
        o.insert("session".into(), Value::Object(session));
    }
    Value::Object(o)
}

/// A request aimed at one policy: its resource, usually one of its subjects,
/// conditions that hold more often than not.
fn facts(rng: &mut Rng, policies: &[Spec], week: DateTime<Utc>) -> Facts {
    let p = rng.pick(policies);
    let mut f = Facts {
        time: week + Duration::minutes(rng.below(7 * 24 * 60) as i64),
        ..Facts::default()
    };
    let r = rng.pick(&p.resources);
    if rng.chance(4) {
        f.app = Some("app-unknown".into());
    } else if let Some(a) = &r.app {
        f.app = Some(a.clone());
    } else if let Some(h) = &r.fqdn {
        f.host = Some(if rng.chance(10) {
            h.to_uppercase()
        } else {
            h.clone()
        });
    }
    if !r.ports.is_empty() || rng.chance(30) {
        f.port = Some(if rng.chance(80) && !r.ports.is_empty() {
            *rng.pick(&r.ports)
        } else {
            *rng.pick(PORTS)
        });
    }
    let s = rng.pick(&p.subjects);
    if rng.chance(75) {
        match s.kind {
            Kind::User if s.id.contains('@') => f.email = Some(s.id.clone()),
            Kind::User => f.user_id = Some(s.id.clone()),
            Kind::Group => f.groups.push(s.id.clone()),
            Kind::Workload => f.workload = Some(s.id.clone()),
            Kind::ServiceAccount => f.token = Some((s.id.clone(), rng.chance(90))),
        }
        f.idp = match s.idp {
            Some(i) if rng.chance(80) => Some(i),
            _ => rng.chance(50).then(|| *rng.pick(IDPS)),
        };
    }
    if f.token.is_none() && rng.chance(90) {
        f.email.get_or_insert_with(|| email(rng.below(USERS)));
        let k = rng.range(0, 3);
        let all: Vec<String> = (0..GROUPS).map(|g| format!("grp-{g}")).collect();
        f.groups.extend(rng.sample(&all, k));
        if f.idp.is_none() && rng.chance(70) {
            f.idp = Some(*rng.pick(IDPS));
        }
    }
    // MFA is an `amr` entry, so only a request with an identity can carry it.
    f.amr_mfa = has_identity(&f) && rng.chance(50);
    f.posture = if rng.chance(70) {
        p.posture.clone()
    } else {
        let all: Vec<String> = (0..POSTURE).map(|k| format!("posture-{k}")).collect();
        let k = rng.range(0, 3);
        rng.sample(&all, k)
    };
    f.country = if rng.chance(5) {
        None
    } else if rng.chance(70) && !p.geo.is_empty() {
        Some(*rng.pick(&p.geo))
    } else {
        Some(*rng.pick(COUNTRIES))
    };
    // Like MFA, the risk score belongs to the identity.
    f.risk = (has_identity(&f) && rng.chance(85)).then(|| rng.below(101) as u8);
    f
}

fn has_identity(f: &Facts) -> bool {
    f.email.is_some()
        || f.user_id.is_some()
        || f.workload.is_some()
        || !f.groups.is_empty()
        || f.idp.is_some()
}

fn request(f: &Facts) -> RequestContext {
    RequestContext {
        resource: Some(Resource {
            app_id: f.app.clone(),
            host: f.host.clone(),
            port: f.port,
            ..Resource::default()
        }),
        identity: has_identity(f).then(|| Identity {
            email: f.email.clone(),
            user_id: f.user_id.clone(),
            idp: f.idp.map(|i| IdentityProvider {
                id: Some(i.to_string()),
                kind: None,
            }),
            groups: f.groups.clone(),
            amr: if f.amr_mfa {
                vec!["pwd".into(), "mfa".into()]
            } else {
                vec!["pwd".into()]
            },
            risk_score: f.risk,
            workload: f.workload.clone(),
            ..Identity::default()
        }),
        service_token: f.token.as_ref().map(|(client, right)| {
            let k = (0..TOKENS).find(|k| client_id(*k) == *client).unwrap_or(0);
            ServiceTokenCredentials {
                client_id: client.clone(),
                client_secret: if *right { secret(k) } else { "wrong".into() },
            }
        }),
        network: Some(Network {
            country: f.country.map(str::to_string),
            ..Network::default()
        }),
        device: Some(Device {
            posture_passed: f.posture.clone(),
            ..Device::default()
        }),
        time: Some(f.time),
        ..RequestContext::default()
    }
}

pub fn policy_set(seed: u64) -> Result<Workload, String> {
    let mut rng = Rng::new(seed);
    let windows = windows();
    if windows
        .iter()
        .any(|w| w.text.split(' ').count() == 3 && w.zone.is_none())
    {
        return Err("a time zone of the generator does not parse".into());
    }
    let policies: Vec<Spec> = (0..POLICIES)
        .map(|i| policy(&mut rng, i, &windows))
        .collect();
    let ztna_policies = policies
        .iter()
        .map(|p| wire::<ZtnaPolicy>(policy_json(p)))
        .collect::<Result<Vec<_>, _>>()?;
    let service_tokens = (0..TOKENS)
        .map(|k| {
            wire::<ServiceToken>(json!({
                "id": format!("tok-{k}"),
                "name": format!("service {k}"),
                "client_id": client_id(k),
                "client_secret": secret(k),
            }))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let setup = Setup {
        account_id: "acc-ztna".into(),
        service_tokens,
        ztna_policies,
        ..Setup::default()
    };
    // Monday 2026-11-23 00:00 UTC; requests spread over that week.
    let week = Utc
        .with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
        .single()
        .ok_or("bad literal date")?;
    let mut requests = Vec::with_capacity(REQUESTS);
    let mut expect = Vec::with_capacity(REQUESTS);
    let mut governed_by_none = 0;
    let mut isolated = 0;
    for _ in 0..REQUESTS {
        let f = facts(&mut rng, &policies, week);
        let e = expected(&policies, &f);
        governed_by_none += usize::from(e.policy_id.is_none());
        isolated += usize::from(e.obligations.as_ref().is_some_and(|o| o.isolation));
        requests.push(request(&f));
        expect.push(e);
    }
    let enabled = policies.iter().filter(|p| p.enabled).count();
    Ok(Workload {
        name: "ZTNA policy set",
        objects: format!("{POLICIES} policies ({enabled} enabled), {APPS} apps + {HOSTS} hosts"),
        notes: vec![format!(
            "{governed_by_none} requests denied with no deciding policy, {isolated} allowed with isolation"
        )],
        setup,
        requests,
        expected: expect,
        target_ns: None,
    })
}
