//! ACM access levels: a seeded access policy of basic levels (ipSubnetworks,
//! regions, members, devicePolicy, requiredAccessLevels, AND / OR, negate) and
//! one of a custom CEL level over a basic one. A decision lists the levels the
//! request is granted (`access_levels`); the oracle applies Google's rules to the
//! generator's own description of each level.

use std::net::IpAddr;

use ipnet::IpNet;
use portcullis_core::context::{Device, Identity, Network};
use portcullis_core::decision::Decision;
use portcullis_core::RequestContext;
use portcullis_formats::acm::AccessLevel;
use portcullis_formats::corpus::Setup;
use serde_json::{json, Value};

use super::{wire, Expected, Rng, RngExt, Workload};

const POLICY: &str = "accessPolicies/bench";
const BASIC_LEVELS: usize = 10;
const REQUESTS: usize = 10_000;
const COUNTRIES: &[&str] = &["US", "CA", "DE", "FR", "GB", "JP", "BR", "IN"];
const ENCRYPTION: &[&str] = &["ENCRYPTED", "UNENCRYPTED", "ENCRYPTION_UNSUPPORTED"];
const OS: &[(&str, &[&str])] = &[
    ("DESKTOP_MAC", &["13.6.1", "14.0.0", "14.2", "15.1.0"]),
    (
        "DESKTOP_WINDOWS",
        &["10.0.19044", "10.0.19045", "10.0.22631"],
    ),
    ("DESKTOP_LINUX", &["6.1", "6.8.0"]),
    ("IOS", &["16.7", "17.4.1"]),
];
const MANAGEMENT: &[&str] = &["NONE", "BASIC", "COMPLETE"];

fn level_name(short: &str) -> String {
    format!("{POLICY}/accessLevels/{short}")
}

/// One device policy, as the generator means it.
#[derive(Debug, Clone, Default)]
struct DeviceSpec {
    screenlock: bool,
    encryption: Vec<&'static str>,
    /// (os type, minimum version)
    os: Vec<(&'static str, Option<&'static str>)>,
    management: Vec<&'static str>,
    admin_approved: bool,
    corp_owned: bool,
}

/// One basic condition: an AND over the fields that are set.
#[derive(Debug, Clone, Default)]
struct CondSpec {
    nets: Vec<IpNet>,
    regions: Vec<&'static str>,
    members: Vec<String>,
    device: Option<DeviceSpec>,
    /// Indices of earlier levels.
    required: Vec<usize>,
    negate: bool,
}

#[derive(Debug, Clone)]
struct LevelSpec {
    short: String,
    conditions: Vec<CondSpec>,
    or: bool,
}

/// The request as plain facts.
#[derive(Debug, Clone, Default)]
struct Facts {
    ip: Option<IpAddr>,
    country: Option<&'static str>,
    email: Option<String>,
    device: Option<DeviceFacts>,
}

#[derive(Debug, Clone, Default)]
struct DeviceFacts {
    screenlock: Option<bool>,
    encryption: Option<&'static str>,
    os_type: Option<&'static str>,
    os_version: Option<&'static str>,
    management: Option<&'static str>,
    admin_approved: Option<bool>,
    corp_owned: Option<bool>,
}

// ---------------------------------------------------------------- oracle

/// `a.b.c` ≥ `x.y.z`, numerically, missing parts 0.
fn version_ge(version: &str, minimum: &str) -> bool {
    let parts = |s: &str| -> Vec<u64> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (mut v, mut m) = (parts(version), parts(minimum));
    let len = v.len().max(m.len());
    v.resize(len, 0);
    m.resize(len, 0);
    v >= m
}

fn device_ok(spec: &DeviceSpec, d: &DeviceFacts) -> bool {
    let listed =
        |list: &[&str], v: Option<&str>| list.is_empty() || v.is_some_and(|v| list.contains(&v));
    (!spec.screenlock || d.screenlock == Some(true))
        && listed(&spec.encryption, d.encryption)
        && listed(&spec.management, d.management)
        && (!spec.admin_approved || d.admin_approved == Some(true))
        && (!spec.corp_owned || d.corp_owned == Some(true))
        && (spec.os.is_empty()
            || spec.os.iter().any(|(os, min)| {
                d.os_type == Some(*os)
                    && min.is_none_or(|m| d.os_version.is_some_and(|v| version_ge(v, m)))
            }))
}

fn cond_holds(levels: &[LevelSpec], c: &CondSpec, f: &Facts, memo: &mut [Option<bool>]) -> bool {
    let mut all = true;
    if !c.nets.is_empty() {
        all &=
            f.ip.is_some_and(|ip| c.nets.iter().any(|n| n.contains(&ip)));
    }
    if !c.regions.is_empty() {
        all &= f.country.is_some_and(|cc| c.regions.contains(&cc));
    }
    if !c.members.is_empty() {
        all &= f
            .email
            .as_ref()
            .is_some_and(|e| c.members.iter().any(|m| m.eq_ignore_ascii_case(e)));
    }
    if let Some(spec) = &c.device {
        // No device: every device restriction fails.
        all &= f.device.as_ref().is_some_and(|d| device_ok(spec, d));
    }
    for &r in &c.required {
        all &= granted(levels, r, f, memo);
    }
    all != c.negate
}

fn granted(levels: &[LevelSpec], i: usize, f: &Facts, memo: &mut [Option<bool>]) -> bool {
    if let Some(g) = memo[i] {
        return g;
    }
    let level = &levels[i];
    let mut results = level
        .conditions
        .iter()
        .map(|c| cond_holds(levels, c, f, memo));
    let g = if level.or {
        results.any(|r| r)
    } else {
        results.all(|r| r)
    };
    memo[i] = Some(g);
    g
}

// ------------------------------------------------------------- generator

fn cidr(rng: &mut Rng) -> IpNet {
    let text = if rng.chance(80) {
        let prefix = 12 + rng.below(13);
        let addr = u32::from_be_bytes([10, 0, 0, 0]) | (rng.next() as u32 & 0x00FF_FFFF);
        format!(
            "{}/{prefix}",
            std::net::Ipv4Addr::from(addr & (u32::MAX << (32 - prefix)))
        )
    } else {
        let prefix = 32 + rng.below(33);
        let addr = (0x2001_0db8u128 << 96) | ((rng.next() as u128) << 32);
        format!(
            "{}/{prefix}",
            std::net::Ipv6Addr::from(addr & (u128::MAX << (128 - prefix)))
        )
    };
    text.parse().expect("the generator writes valid CIDRs")
}

fn address_in(rng: &mut Rng, net: &IpNet) -> IpAddr {
    match net {
        IpNet::V4(n) => {
            let host = (rng.next() as u32) & !u32::from(n.netmask());
            IpAddr::V4((u32::from(n.network()) | host).into())
        }
        IpNet::V6(n) => {
            let host = (rng.next() as u128) & !u128::from(n.netmask());
            IpAddr::V6((u128::from(n.network()) | host).into())
        }
    }
}

fn email(k: usize) -> String {
    format!("user{k}@corp.example")
}

fn device_spec(rng: &mut Rng) -> DeviceSpec {
    let mut d = DeviceSpec::default();
    // At least one restriction, so the device policy is not empty.
    loop {
        d.screenlock = rng.chance(40);
        if rng.chance(50) {
            d.encryption = vec!["ENCRYPTED"];
        }
        if rng.chance(50) {
            let k = rng.range(1, 2);
            d.os = rng
                .sample(OS, k)
                .into_iter()
                .map(|(os, versions)| {
                    let min = rng.chance(70).then(|| *rng.pick(versions));
                    (os, min)
                })
                .collect();
        }
        if rng.chance(30) {
            let k = rng.range(1, 2);
            d.management = rng.sample(&MANAGEMENT[1..], k);
        }
        d.admin_approved = rng.chance(20);
        d.corp_owned = rng.chance(25);
        if d.screenlock
            || !d.encryption.is_empty()
            || !d.os.is_empty()
            || !d.management.is_empty()
            || d.admin_approved
            || d.corp_owned
        {
            return d;
        }
    }
}

fn basic_levels(rng: &mut Rng) -> Vec<LevelSpec> {
    let mut levels: Vec<LevelSpec> = Vec::new();
    for i in 0..BASIC_LEVELS {
        let n_conditions = if rng.chance(60) { 1 } else { rng.range(2, 3) };
        let mut conditions = Vec::new();
        for _ in 0..n_conditions {
            let mut c = CondSpec::default();
            // One to three fields per condition.
            let k = rng.range(1, 3);
            let mut kinds = rng.sample(&[0usize, 1, 2, 3, 4], k);
            if i == 0 {
                kinds.retain(|k| *k != 4);
                if kinds.is_empty() {
                    kinds.push(0);
                }
            }
            for k in kinds {
                match k {
                    0 => {
                        let n = rng.range(1, 4);
                        c.nets = (0..n).map(|_| cidr(rng)).collect();
                    }
                    1 => {
                        let n = rng.range(1, 3);
                        c.regions = rng.sample(COUNTRIES, n);
                    }
                    2 if rng.chance(40) => {
                        let n = rng.range(1, 4);
                        c.members = (0..n).map(|_| email(rng.below(50))).collect();
                    }
                    2 | 3 => c.device = Some(device_spec(rng)),
                    _ => {
                        let all: Vec<usize> = (0..i).collect();
                        let n = rng.range(1, 2);
                        c.required = rng.sample(&all, n);
                    }
                }
            }
            c.negate = rng.chance(15);
            conditions.push(c);
        }
        levels.push(LevelSpec {
            short: format!("level_{i}"),
            conditions,
            or: rng.chance(40),
        });
    }
    levels
}

fn device_json(d: &DeviceSpec) -> Value {
    let mut o = serde_json::Map::new();
    if d.screenlock {
        o.insert("requireScreenlock".into(), json!(true));
    }
    if !d.encryption.is_empty() {
        o.insert("allowedEncryptionStatuses".into(), json!(d.encryption));
    }
    if !d.os.is_empty() {
        let os: Vec<Value> =
            d.os.iter()
                .map(|(t, min)| match min {
                    Some(m) => json!({"osType": t, "minimumVersion": m}),
                    None => json!({"osType": t}),
                })
                .collect();
        o.insert("osConstraints".into(), Value::Array(os));
    }
    if !d.management.is_empty() {
        o.insert("allowedDeviceManagementLevels".into(), json!(d.management));
    }
    if d.admin_approved {
        o.insert("requireAdminApproval".into(), json!(true));
    }
    if d.corp_owned {
        o.insert("requireCorpOwned".into(), json!(true));
    }
    Value::Object(o)
}

fn level_json(levels: &[LevelSpec], l: &LevelSpec) -> Value {
    let conditions: Vec<Value> = l
        .conditions
        .iter()
        .map(|c| {
            let mut o = serde_json::Map::new();
            if !c.nets.is_empty() {
                let nets: Vec<String> = c.nets.iter().map(ToString::to_string).collect();
                o.insert("ipSubnetworks".into(), json!(nets));
            }
            if !c.regions.is_empty() {
                o.insert("regions".into(), json!(c.regions));
            }
            if !c.members.is_empty() {
                let members: Vec<String> = c.members.iter().map(|m| format!("user:{m}")).collect();
                o.insert("members".into(), json!(members));
            }
            if let Some(d) = &c.device {
                o.insert("devicePolicy".into(), device_json(d));
            }
            if !c.required.is_empty() {
                let names: Vec<String> = c
                    .required
                    .iter()
                    .map(|&r| level_name(&levels[r].short))
                    .collect();
                o.insert("requiredAccessLevels".into(), json!(names));
            }
            if c.negate {
                o.insert("negate".into(), json!(true));
            }
            Value::Object(o)
        })
        .collect();
    json!({
        "name": level_name(&l.short),
        "title": l.short.replace('_', " "),
        "basic": {
            "conditions": conditions,
            "combiningFunction": if l.or { "OR" } else { "AND" },
        }
    })
}

/// Facts aimed at the levels: addresses inside their ranges, their regions and
/// members, devices that mostly meet their policies.
fn facts(rng: &mut Rng, levels: &[LevelSpec]) -> Facts {
    let conds: Vec<&CondSpec> = levels.iter().flat_map(|l| &l.conditions).collect();
    let aim = *rng.pick(&conds);
    let nets: Vec<&IpNet> = conds.iter().flat_map(|c| &c.nets).collect();
    let ip = if rng.chance(5) {
        None
    } else if rng.chance(75) && !nets.is_empty() {
        let net = if aim.nets.is_empty() {
            *rng.pick(&nets)
        } else {
            rng.pick(&aim.nets)
        };
        Some(address_in(rng, net))
    } else {
        let any: IpNet = "10.0.0.0/8".parse().expect("literal CIDR");
        Some(address_in(rng, &any))
    };
    let country = if rng.chance(5) {
        None
    } else if rng.chance(60) && !aim.regions.is_empty() {
        Some(*rng.pick(&aim.regions))
    } else {
        Some(*rng.pick(COUNTRIES))
    };
    let email = if rng.chance(10) {
        None
    } else if rng.chance(50) && !aim.members.is_empty() {
        // Upper case: members compare case-insensitively.
        Some(rng.pick(&aim.members).to_uppercase())
    } else {
        Some(email(rng.below(60)))
    };
    let device = if rng.chance(10) {
        None
    } else {
        let (os, versions) = *rng.pick(OS);
        let target = aim.device.clone().unwrap_or_default();
        let (os, version) = match target.os.first() {
            Some((t, _)) if rng.chance(70) => {
                let versions = OS
                    .iter()
                    .find(|(o, _)| o == t)
                    .map_or(versions, |(_, v)| *v);
                (*t, *rng.pick(versions))
            }
            _ => (os, *rng.pick(versions)),
        };
        let maybe = |rng: &mut Rng, p: u64| {
            if rng.chance(5) {
                None
            } else {
                Some(rng.chance(p))
            }
        };
        Some(DeviceFacts {
            screenlock: maybe(rng, 80),
            encryption: if rng.chance(5) {
                None
            } else if rng.chance(75) {
                Some("ENCRYPTED")
            } else {
                Some(*rng.pick(ENCRYPTION))
            },
            os_type: if rng.chance(5) { None } else { Some(os) },
            os_version: if rng.chance(5) { None } else { Some(version) },
            management: if rng.chance(5) {
                None
            } else {
                Some(*rng.pick(MANAGEMENT))
            },
            admin_approved: maybe(rng, 70),
            corp_owned: maybe(rng, 70),
        })
    };
    Facts {
        ip,
        country,
        email,
        device,
    }
}

fn request(f: &Facts) -> RequestContext {
    RequestContext {
        identity: f.email.as_ref().map(|e| Identity {
            email: Some(e.clone()),
            ..Identity::default()
        }),
        network: Some(Network {
            ip: f.ip,
            country: f.country.map(str::to_string),
            vpc: None,
        }),
        device: f.device.as_ref().map(|d| Device {
            screenlock: d.screenlock,
            encryption_status: d.encryption.map(str::to_string),
            os_type: d.os_type.map(str::to_string),
            os_version: d.os_version.map(str::to_string),
            management_level: d.management.map(str::to_string),
            admin_approved: d.admin_approved,
            corp_owned: d.corp_owned,
            ..Device::default()
        }),
        ..RequestContext::default()
    }
}

fn setup(levels: Vec<Value>) -> Result<Setup, String> {
    let access_levels = levels
        .into_iter()
        .map(wire::<AccessLevel>)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Setup {
        account_id: "acc-acm".into(),
        access_levels,
        ..Setup::default()
    })
}

/// Nothing governs these requests (no app, ZTNA policy or tree), so the decision
/// is `deny`; what is checked and timed is the set of granted levels.
fn expected(granted: Vec<String>) -> Expected {
    let mut e = Expected::new(Decision::Deny);
    e.access_levels = granted;
    e.access_levels.sort();
    e
}

fn grant_notes(names: &[String], expected: &[Expected]) -> Vec<String> {
    let counts: Vec<String> = names
        .iter()
        .map(|n| {
            let k = expected
                .iter()
                .filter(|e| e.access_levels.contains(n))
                .count();
            format!("{} {k}", n.rsplit('/').next().unwrap_or(n))
        })
        .collect();
    vec![format!(
        "requests granted each level: {}",
        counts.join(", ")
    )]
}

pub fn basic(seed: u64) -> Result<Workload, String> {
    let mut rng = Rng::new(seed);
    let levels = basic_levels(&mut rng);
    let wire_levels = levels.iter().map(|l| level_json(&levels, l)).collect();
    let setup = setup(wire_levels)?;
    let mut requests = Vec::with_capacity(REQUESTS);
    let mut expect = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let f = facts(&mut rng, &levels);
        let mut memo = vec![None; levels.len()];
        let granted = (0..levels.len())
            .filter(|&i| granted(&levels, i, &f, &mut memo))
            .map(|i| level_name(&levels[i].short))
            .collect();
        requests.push(request(&f));
        expect.push(expected(granted));
    }
    let names: Vec<String> = levels.iter().map(|l| level_name(&l.short)).collect();
    let conditions: usize = levels.iter().map(|l| l.conditions.len()).sum();
    Ok(Workload {
        name: "ACM basic levels",
        objects: format!("{BASIC_LEVELS} basic levels, {conditions} conditions"),
        notes: grant_notes(&names, &expect),
        setup,
        requests,
        expected: expect,
        target_ns: Some(300),
    })
}

/// The custom level of the issue: `origin.region_code == "US" &&
/// device.encryption_status == DeviceEncryptionStatus.ENCRYPTED &&
/// levels.corp_net`, over one basic level `corp_net` (ipSubnetworks).
pub fn custom(seed: u64) -> Result<Workload, String> {
    let mut rng = Rng::new(seed);
    let nets: Vec<IpNet> = (0..4).map(|_| cidr(&mut rng)).collect();
    let corp_net = LevelSpec {
        short: "corp_net".into(),
        conditions: vec![CondSpec {
            nets: nets.clone(),
            ..CondSpec::default()
        }],
        or: false,
    };
    let expression = "origin.region_code == \"US\" && device.encryption_status == DeviceEncryptionStatus.ENCRYPTED && levels.corp_net";
    let levels = vec![corp_net];
    let custom_name = level_name("secure_us");
    let wire_levels = vec![
        level_json(&levels, &levels[0]),
        json!({
            "name": custom_name,
            "title": "secure US",
            "custom": {"expr": {"expression": expression}},
        }),
    ];
    let setup = setup(wire_levels)?;
    let mut requests = Vec::with_capacity(REQUESTS);
    let mut expect = Vec::with_capacity(REQUESTS);
    let us_heavy: Vec<&'static str> = ["US", "US", "US"]
        .into_iter()
        .chain(COUNTRIES.iter().copied())
        .collect();
    for _ in 0..REQUESTS {
        let mut f = facts(&mut rng, &levels);
        if f.country.is_some() {
            f.country = Some(*rng.pick(&us_heavy));
        }
        let mut memo = vec![None; 1];
        let corp = granted(&levels, 0, &f, &mut memo);
        // CEL: a missing attribute is an error, and an error never grants.
        let secure = f.country == Some("US")
            && f.device.as_ref().and_then(|d| d.encryption) == Some("ENCRYPTED")
            && corp;
        let mut granted = Vec::new();
        if corp {
            granted.push(level_name("corp_net"));
        }
        if secure {
            granted.push(custom_name.clone());
        }
        requests.push(request(&f));
        expect.push(expected(granted));
    }
    let names = vec![level_name("corp_net"), custom_name];
    Ok(Workload {
        name: "ACM custom level (CEL)",
        objects: "1 custom level (CEL) + the basic level it reads".into(),
        notes: {
            let mut n = grant_notes(&names, &expect);
            n.push(format!("expression: {expression}"));
            n
        },
        setup,
        requests,
        expected: expect,
        target_ns: Some(2_000),
    })
}
