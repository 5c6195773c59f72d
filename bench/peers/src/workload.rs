//! The shared workload: one Cloudflare Access account written as wire objects
//! (groups, lists, service tokens, reusable policies, applications) and the
//! requests sent to it. Everything comes from one seeded generator, so every run
//! and every engine sees the same policies and the same requests.

use portcullis_core::context::{Device, Identity, Network, Resource, ServiceTokenCredentials};
use portcullis_core::RequestContext;
use portcullis_formats::corpus::Setup;
use serde_json::{json, Value};

/// SplitMix64: tiny, fast and good enough to spread a benchmark workload; a
/// dependency on `rand` would buy nothing here.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub const COUNTRIES: &[&str] = &["US", "DE", "FR", "GB", "JP", "BR", "IN", "CA", "AU", "NL"];
pub const AUTH_METHODS: &[&str] = &["pwd", "mfa", "hwk", "otp", "sms"];
const DOMAINS: usize = 200;
const USERS_PER_DOMAIN: usize = 50;
const GROUPS: usize = 100;
const IP_LISTS: usize = 50;
const TOKENS: usize = 20;
const POSTURE_RULES: usize = 10;

/// Sizes of one generated account.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub apps: usize,
    pub policies_per_app: usize,
    pub requests: usize,
}

/// The account as wire objects, plus the requests.
pub struct Workload {
    pub setup: Setup,
    pub requests: Vec<RequestContext>,
}

/// Request paths; every application covers its whole host.
const PATHS: &[&str] = &["/", "/dashboard", "/api/v1/items?page=2", "/static/app.js"];

/// The host of application `k`; `facts::app_of_host` is its inverse.
pub fn app_host(k: usize) -> String {
    format!("app-{k}.example.com")
}

fn domain(k: usize) -> String {
    format!("d{k}.example")
}

fn user(rng: &mut Rng) -> String {
    format!(
        "u{}@{}",
        rng.below(USERS_PER_DOMAIN),
        domain(rng.below(DOMAINS))
    )
}

fn token_secret(k: usize) -> String {
    format!("secret-{k:04}-0123456789abcdef")
}

fn posture(k: usize) -> String {
    format!("posture-{k}")
}

/// A CIDR from 10.0.0.0/8 (IPv4) or fd00::/8 (IPv6), prefix /16 to /28.
fn cidr(rng: &mut Rng) -> String {
    if rng.chance(85) {
        let prefix = 16 + rng.below(13);
        let addr = u32::from_be_bytes([10, 0, 0, 0]) | (rng.next() as u32 & 0x00FF_FFFF);
        let masked = addr & (u32::MAX << (32 - prefix));
        format!("{}/{prefix}", std::net::Ipv4Addr::from(masked))
    } else {
        let prefix = 32 + rng.below(33);
        let addr = (0xfd00u128 << 112) | ((rng.next() as u128) << 48);
        let masked = addr & (u128::MAX << (128 - prefix));
        format!("{}/{prefix}", std::net::Ipv6Addr::from(masked))
    }
}

/// An address inside `cidr` (or a random 10.x / fd00:: address when `None`).
fn address_in(rng: &mut Rng, cidr: Option<&str>) -> std::net::IpAddr {
    let net: ipnet::IpNet = match cidr {
        Some(c) => c.parse().expect("the generator writes valid CIDRs"),
        None if rng.chance(85) => "10.0.0.0/8".parse().expect("literal CIDR"),
        None => "fd00::/64".parse().expect("literal CIDR"),
    };
    match net {
        ipnet::IpNet::V4(n) => {
            let host = (rng.next() as u32) & !u32::from(n.netmask());
            std::net::IpAddr::V4((u32::from(n.network()) | host).into())
        }
        ipnet::IpNet::V6(n) => {
            let host = (rng.next() as u128) & !u128::from(n.netmask());
            std::net::IpAddr::V6((u128::from(n.network()) | host).into())
        }
    }
}

/// What the generator remembers of the account so that requests can aim at it.
struct Catalog {
    group_members: Vec<Vec<String>>,
    lists: Vec<Vec<String>>,
    /// Per app: the values its rules mention (to make hits likely).
    app_domains: Vec<Vec<String>>,
    app_groups: Vec<Vec<usize>>,
    app_cidrs: Vec<Vec<String>>,
}

fn rule(rng: &mut Rng, kind: &str, cat: &mut Catalog, app: usize) -> Value {
    match kind {
        "email" => json!({"email": {"email": user(rng)}}),
        "email_domain" => {
            let d = domain(rng.below(DOMAINS));
            cat.app_domains[app].push(d.clone());
            json!({"email_domain": {"domain": d}})
        }
        "group" => {
            let g = rng.below(GROUPS);
            cat.app_groups[app].push(g);
            json!({"group": {"id": format!("grp-{g}")}})
        }
        "ip" => {
            let c = cidr(rng);
            cat.app_cidrs[app].push(c.clone());
            json!({"ip": {"ip": c}})
        }
        "ip_list" => {
            let l = rng.below(IP_LISTS);
            cat.app_cidrs[app].extend(cat.lists[l].iter().cloned());
            json!({"ip_list": {"id": format!("list-{l}")}})
        }
        "geo" => json!({"geo": {"country_code": *rng.pick(COUNTRIES)}}),
        "auth_method" => json!({"auth_method": {"auth_method": *rng.pick(AUTH_METHODS)}}),
        "device_posture" => {
            json!({"device_posture": {"integration_uid": posture(rng.below(POSTURE_RULES))}})
        }
        "service_token" => {
            json!({"service_token": {"token_id": format!("tok-{}", rng.below(TOKENS))}})
        }
        "any_valid_service_token" => json!({"any_valid_service_token": {}}),
        other => unreachable!("the generator has no rule type {other}"),
    }
}

fn rules(
    rng: &mut Rng,
    kinds: &[&str],
    min: usize,
    max: usize,
    cat: &mut Catalog,
    app: usize,
) -> Vec<Value> {
    let n = min + rng.below(max - min + 1);
    (0..n)
        .map(|_| {
            let kind = rng_pick(rng, kinds);
            rule(rng, kind, cat, app)
        })
        .collect()
}

fn rng_pick<'a>(rng: &mut Rng, kinds: &[&'a str]) -> &'a str {
    kinds[rng.below(kinds.len())]
}

/// One policy: the decision decides which rule types make sense.
fn policy(rng: &mut Rng, id: String, cat: &mut Catalog, app: usize) -> Value {
    let roll = rng.below(100);
    let (decision, include, require, exclude) = if roll < 55 || (75..85).contains(&roll) {
        let decision = if roll < 55 { "allow" } else { "deny" };
        (
            decision,
            rules(
                rng,
                &["email_domain", "group", "ip", "ip_list", "geo", "email"],
                1,
                3,
                cat,
                app,
            ),
            rules(
                rng,
                &["auth_method", "device_posture", "geo", "ip_list"],
                0,
                2,
                cat,
                app,
            ),
            rules(rng, &["geo", "ip", "email_domain", "group"], 0, 1, cat, app),
        )
    } else if roll < 75 {
        (
            "non_identity",
            rules(
                rng,
                &["service_token", "service_token", "any_valid_service_token"],
                1,
                2,
                cat,
                app,
            ),
            rules(rng, &["ip_list", "geo"], 0, 1, cat, app),
            Vec::new(),
        )
    } else {
        (
            "bypass",
            rules(rng, &["ip", "ip_list", "geo"], 1, 2, cat, app),
            Vec::new(),
            rules(rng, &["geo", "ip"], 0, 1, cat, app),
        )
    };
    json!({"id": id, "name": id, "decision": decision,
           "include": include, "require": require, "exclude": exclude})
}

pub fn generate(shape: Shape, seed: u64) -> Workload {
    let mut rng = Rng::new(seed);
    let mut groups = Vec::with_capacity(GROUPS);
    let mut cat = Catalog {
        group_members: Vec::new(),
        lists: Vec::new(),
        app_domains: vec![Vec::new(); shape.apps],
        app_groups: vec![Vec::new(); shape.apps],
        app_cidrs: vec![Vec::new(); shape.apps],
    };
    for g in 0..GROUPS {
        let members: Vec<String> = (0..3 + rng.below(6)).map(|_| user(&mut rng)).collect();
        let mut include: Vec<Value> = members
            .iter()
            .map(|m| json!({"email": {"email": m}}))
            .collect();
        for _ in 0..rng.below(3) {
            include.push(json!({"email_domain": {"domain": domain(rng.below(DOMAINS))}}));
        }
        let require: Vec<Value> = if rng.chance(30) {
            vec![json!({"geo": {"country_code": *rng.pick(COUNTRIES)}})]
        } else {
            Vec::new()
        };
        let exclude: Vec<Value> = if rng.chance(20) {
            vec![json!({"email": {"email": user(&mut rng)}})]
        } else {
            Vec::new()
        };
        groups.push(
            json!({"id": format!("grp-{g}"), "name": format!("group {g}"),
                           "include": include, "require": require, "exclude": exclude}),
        );
        cat.group_members.push(members);
    }
    let mut lists = Vec::with_capacity(IP_LISTS);
    for l in 0..IP_LISTS {
        let items: Vec<String> = (0..3 + rng.below(8)).map(|_| cidr(&mut rng)).collect();
        lists.push(
            json!({"id": format!("list-{l}"), "name": format!("list {l}"), "type": "IP",
                          "items": items.iter().map(|i| json!({"value": i})).collect::<Vec<_>>()}),
        );
        cat.lists.push(items);
    }
    let tokens: Vec<Value> = (0..TOKENS)
        .map(|k| {
            json!({"id": format!("tok-{k}"), "name": format!("token {k}"),
                        "client_id": format!("cid-{k}.access"), "client_secret": token_secret(k)})
        })
        .collect();
    let mut policies = Vec::with_capacity(shape.apps * shape.policies_per_app);
    let mut apps = Vec::with_capacity(shape.apps);
    for a in 0..shape.apps {
        // Precedences are a shuffle of 1..=n so that list order is not evaluation order.
        let mut precedences: Vec<i64> = (1..=shape.policies_per_app as i64).collect();
        for i in (1..precedences.len()).rev() {
            precedences.swap(i, rng.below(i + 1));
        }
        let mut links = Vec::new();
        for (j, precedence) in precedences.into_iter().enumerate() {
            let id = format!("pol-{a}-{j}");
            policies.push(policy(&mut rng, id.clone(), &mut cat, a));
            links.push(json!({"id": id, "precedence": precedence}));
        }
        apps.push(
            json!({"id": format!("app-{a}"), "name": format!("app {a}"), "type": "self_hosted",
                         "domain": app_host(a), "policies": links}),
        );
    }
    let setup = json!({"account_id": "bench", "groups": groups, "lists": lists,
                       "service_tokens": tokens, "policies": policies, "apps": apps});
    let setup: Setup =
        portcullis_formats::from_value(setup).expect("the generator writes valid wire objects");
    let requests = (0..shape.requests)
        .map(|_| request(&mut rng, shape.apps, &cat))
        .collect();
    Workload { setup, requests }
}

fn request(rng: &mut Rng, apps: usize, cat: &Catalog) -> RequestContext {
    let app = rng.below(apps);
    let mut req = RequestContext {
        // Applications are found by host and path, as forward-auth finds them; a
        // few requests go to a host no application covers.
        resource: Some(Resource {
            host: Some(if rng.chance(1) {
                "missing.example.com".into()
            } else {
                app_host(app)
            }),
            path: Some(rng.pick(PATHS).to_string()),
            ..Resource::default()
        }),
        ..RequestContext::default()
    };
    if rng.chance(80) {
        let email = match rng.below(10) {
            0..=2 if !cat.app_groups[app].is_empty() => {
                let group = *rng.pick(&cat.app_groups[app]);
                rng.pick(&cat.group_members[group]).clone()
            }
            3..=5 if !cat.app_domains[app].is_empty() => {
                format!(
                    "u{}@{}",
                    rng.below(USERS_PER_DOMAIN),
                    rng.pick(&cat.app_domains[app])
                )
            }
            _ => user(rng),
        };
        let amr = AUTH_METHODS
            .iter()
            .filter(|_| rng.chance(40))
            .map(|m| m.to_string())
            .collect();
        req.identity = Some(Identity {
            email: Some(email),
            amr,
            ..Identity::default()
        });
        req.device = Some(Device {
            posture_passed: (0..POSTURE_RULES)
                .filter(|_| rng.chance(50))
                .map(posture)
                .collect(),
            ..Device::default()
        });
    }
    if rng.chance(30) || req.identity.is_none() && rng.chance(70) {
        let k = rng.below(TOKENS);
        let secret = if rng.chance(85) {
            token_secret(k)
        } else {
            "wrong-secret".into()
        };
        req.service_token = Some(ServiceTokenCredentials {
            client_id: format!("cid-{k}.access"),
            client_secret: secret,
        });
    }
    let ip = if rng.chance(60) && !cat.app_cidrs[app].is_empty() {
        let cidr = rng.pick(&cat.app_cidrs[app]);
        Some(address_in(rng, Some(cidr)))
    } else if rng.chance(90) {
        Some(address_in(rng, None))
    } else {
        None
    };
    req.network = Some(Network {
        ip,
        country: rng.chance(95).then(|| rng.pick(COUNTRIES).to_string()),
        ..Network::default()
    });
    req
}
