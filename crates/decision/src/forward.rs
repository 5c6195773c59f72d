//! Forward-auth (nginx `auth_request`, Caddy `forward_auth`, Traefik
//! `forwardAuth`): the proxy asks whether the request it holds may go through.
//!
//! The application is found by `X-Forwarded-Host` and `X-Forwarded-Uri` across
//! all accounts. The client address comes from `X-Forwarded-For` only when the
//! peer is a trusted proxy (loopback by default); otherwise the header is
//! ignored, since anyone can send it. An application token (`CF_Authorization`
//! cookie or `Cf-Access-Jwt-Assertion`) supplies the identity, which is
//! re-evaluated against the live request every time: a policy change, a new
//! country or a revoked group takes effect at once. Anything that goes wrong
//! inside is a deny: the proxy must never let a request through by accident.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::http::header::AsHeaderName;
use axum::http::{HeaderMap, HeaderName};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use portcullis_core::context::{
    Identity, Network, RequestContext, Resource, ServiceTokenCredentials,
};
use portcullis_core::eval::EvalOptions;
use portcullis_core::{Decision, DecisionResult};

use crate::decide::{record, session_length};
use crate::external::resolve_all;
use crate::state::DecisionState;
use crate::tokens::{app_audience, issue, verify, TokenError};

pub const TOKEN_COOKIE: &str = "CF_Authorization";
pub const TOKEN_HEADER: &str = "cf-access-jwt-assertion";
pub const EMAIL_HEADER: &str = "cf-access-authenticated-user-email";
pub const LOGIN_URL_HEADER: &str = "x-portcullis-login-url";

/// How forward-auth reads the proxy's headers.
#[derive(Debug, Clone)]
pub struct ForwardAuthConfig {
    /// Peers whose `X-Forwarded-For` and country header are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Header carrying the client's ISO country code (e.g. `CF-IPCountry`),
    /// believed only from a trusted proxy.
    pub country_header: Option<String>,
    /// Where a user without a valid session is sent; `redirect_url` is appended.
    pub login_url: String,
}

impl Default for ForwardAuthConfig {
    fn default() -> Self {
        ForwardAuthConfig {
            trusted_proxies: vec![
                IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8)),
                IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128)),
            ],
            country_header: Some("cf-ipcountry".into()),
            login_url: "/cdn-cgi/access/login".into(),
        }
    }
}

/// What forward-auth answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardOutcome {
    /// 200: pass these headers upstream.
    Allow {
        email: Option<String>,
        token: Option<String>,
    },
    /// 401: log in (again) at this URL.
    Login { url: String },
    /// 403.
    Deny,
}

// Header names parsed once, not on every lookup.
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static CLIENT_ID: HeaderName = HeaderName::from_static("cf-access-client-id");
static CLIENT_SECRET: HeaderName = HeaderName::from_static("cf-access-client-secret");
static ASSERTION: HeaderName = HeaderName::from_static(TOKEN_HEADER);

fn header<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn is_trusted(config: &ForwardAuthConfig, ip: IpAddr) -> bool {
    config.trusted_proxies.iter().any(|n| n.contains(&ip))
}

/// The client address: the peer, unless the peer is a trusted proxy, in which
/// case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(
    config: &ForwardAuthConfig,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Option<IpAddr> {
    let peer = peer?;
    if !is_trusted(config, peer) {
        return Some(peer);
    }
    let chain: Vec<IpAddr> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(
        chain
            .iter()
            .rev()
            .find(|ip| !is_trusted(config, **ip))
            .or(chain.first())
            .copied()
            .unwrap_or(peer),
    )
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn login(config: &ForwardAuthConfig, proto: &str, host: &str, uri: &str) -> ForwardOutcome {
    let original = format!("{proto}://{host}{uri}");
    let sep = if config.login_url.contains('?') {
        '&'
    } else {
        '?'
    };
    ForwardOutcome::Login {
        url: format!(
            "{}{sep}redirect_url={}",
            config.login_url,
            percent_encode(&original)
        ),
    }
}

/// Decides one forward-auth request.
pub async fn forward_auth(
    state: &DecisionState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> ForwardOutcome {
    let started = Instant::now();
    let config = &state.config.forward;
    // A chain of proxies may append hosts; the first is what the client asked for.
    let Some(host) = header(headers, &X_FORWARDED_HOST)
        .or_else(|| header(headers, axum::http::header::HOST))
        .and_then(|h| h.split(',').next())
        .map(str::trim)
        .filter(|h| !h.is_empty())
    else {
        return ForwardOutcome::Deny;
    };
    let uri = header(headers, &X_FORWARDED_URI).unwrap_or("/");
    let path = uri
        .split(['?', '#'])
        .next()
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    let proto = match header(headers, &X_FORWARDED_PROTO) {
        Some("http") => "http",
        _ => "https",
    };
    let trusted_peer = peer.is_some_and(|p| is_trusted(config, p));
    let country = config
        .country_header
        .as_deref()
        .filter(|_| trusted_peer)
        .and_then(|name| header(headers, name))
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(|c| c.to_ascii_uppercase());
    let now = state.clock.now();
    let mut req = RequestContext {
        resource: Some(Resource {
            host: Some(host.to_string()),
            path: Some(path.to_string()),
            ..Resource::default()
        }),
        network: Some(Network {
            ip: client_ip(config, headers, peer),
            country,
            vpc: None,
        }),
        time: Some(now),
        ..RequestContext::default()
    };
    if let (Some(id), Some(secret)) = (header(headers, &CLIENT_ID), header(headers, &CLIENT_SECRET))
    {
        req.service_token = Some(ServiceTokenCredentials {
            client_id: id.to_string(),
            client_secret: secret.to_string(),
        });
    }

    let live = state.snapshots.load();
    let Some((account, app, app_idx)) = live.snapshot().find_host(host, path) else {
        let result = DecisionResult::new(Decision::Deny);
        record(state, "login", "", &req, &result, started, Some(host));
        return ForwardOutcome::Deny;
    };
    let account_id = account.account_id();
    let aud: Cow<'_, str> = app.aud().map_or_else(
        || Cow::Owned(app_audience(account_id, app.id())),
        Cow::Borrowed,
    );

    let presented = header(headers, &ASSERTION).or_else(|| cookie(headers, TOKEN_COOKIE));
    if let Some(token) = presented {
        match verify(&state.keys, token, &state.config.issuer, &aud, now) {
            Ok(claims) => {
                // A token issued to a service token (non_identity) names nobody:
                // it must not turn into an identity that `everyone` would match.
                req.identity = match (&claims.identity, &claims.email) {
                    (Some(identity), email) => {
                        let mut identity = identity.clone();
                        if identity.email.is_none() {
                            identity.email.clone_from(email);
                        }
                        Some(identity)
                    }
                    (None, Some(email)) => Some(Identity {
                        email: Some(email.clone()),
                        ..Identity::default()
                    }),
                    (None, None) => None,
                };
            }
            Err(e) => {
                state.metrics.record_rejected_token();
                log_rejected(&e, app.id());
                let result = DecisionResult::new(Decision::LoginRequired);
                record(
                    state,
                    "login",
                    account_id,
                    &req,
                    &result,
                    started,
                    Some(host),
                );
                return login(config, proto, host, uri);
            }
        }
    }

    let rules = live.external_rules(account_id, app.id());
    if !rules.is_empty() {
        let failures = resolve_all(state.external.as_ref(), rules, &mut req).await;
        state.metrics.record_external_failures(failures);
    }

    // Core does not panic on any input we know of; if it ever does, deny.
    let evaluated = std::panic::catch_unwind(AssertUnwindSafe(|| {
        account
            .evaluate_for_app(&req, Some(app_idx), EvalOptions::default())
            .to_result()
    }));
    let result = match evaluated {
        Ok(r) => r,
        Err(_) => {
            tracing::error!(app = app.id(), "evaluation panicked; denying");
            DecisionResult::new(Decision::Deny)
        }
    };
    record(
        state,
        "login",
        account_id,
        &req,
        &result,
        started,
        Some(host),
    );

    match result.decision {
        Decision::Allow | Decision::Bypass | Decision::NonIdentity => {
            let email = req.identity.as_ref().and_then(|i| i.email.clone());
            let token = match presented {
                Some(t) => Some(t.to_string()),
                None if result.decision != Decision::Bypass => {
                    let country = req.network.as_ref().and_then(|n| n.country.as_deref());
                    match issue(
                        &state.keys,
                        &state.config.issuer,
                        &aud,
                        req.identity.as_ref(),
                        country,
                        session_length(&result),
                        now,
                    ) {
                        Ok((t, _)) => Some(t),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot sign the application token; denying");
                            return ForwardOutcome::Deny;
                        }
                    }
                }
                None => None,
            };
            ForwardOutcome::Allow { email, token }
        }
        Decision::LoginRequired | Decision::MfaRequired => login(config, proto, host, uri),
        Decision::Deny => ForwardOutcome::Deny,
    }
}

fn log_rejected(error: &TokenError, app: &str) {
    tracing::info!(target: "portcullis::decision", app, reason = %error, "application token refused");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop() {
        let config = ForwardAuthConfig::default();
        let peer = Some("127.0.0.1".parse().unwrap());
        // The client may prepend anything; only what trusted proxies appended counts.
        let ip = client_ip(&config, &headers("6.6.6.6, 198.51.100.7, 127.0.0.2"), peer);
        assert_eq!(ip, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let config = ForwardAuthConfig::default();
        let peer = Some("203.0.113.1".parse().unwrap());
        let ip = client_ip(&config, &headers("10.0.0.1"), peer);
        assert_eq!(ip, peer);
    }

    #[test]
    fn garbage_in_x_forwarded_for_falls_back_to_the_peer() {
        let config = ForwardAuthConfig::default();
        let peer = Some("::1".parse().unwrap());
        assert_eq!(client_ip(&config, &headers("unknown, , x"), peer), peer);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            "a=1; CF_Authorization=\"tok\"; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, TOKEN_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn the_login_url_carries_the_original_url() {
        let config = ForwardAuthConfig {
            login_url: "https://login.example.com/start?x=1".into(),
            ..ForwardAuthConfig::default()
        };
        assert_eq!(
            login(&config, "https", "app.example.com", "/a b"),
            ForwardOutcome::Login {
                url: "https://login.example.com/start?x=1&redirect_url=https%3A%2F%2Fapp.example.com%2Fa%20b".into()
            }
        );
    }
}
