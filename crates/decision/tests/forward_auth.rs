//! `/auth/forward`: the header contract, token checks and trusted proxies.

mod common;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis_core::context::Identity;
use portcullis_decision::tokens::{issue, AppTokenClaims};
use serde_json::json;

fn identity(email: &str) -> Identity {
    Identity {
        email: Some(email.into()),
        ..Identity::default()
    }
}

fn token_for(f: &Fixture, aud: &str, email: &str) -> String {
    issue(
        &f.state.keys,
        "portcullis",
        aud,
        Some(&identity(email)),
        None,
        Duration::hours(8),
        t0(),
    )
    .unwrap()
    .0
}

const PROXY: &str = "127.0.0.1:40000";

/// Forward-auth for `app.example.com` from the trusted proxy with `token` in
/// `Cf-Access-Jwt-Assertion`: the status and the response headers.
async fn with_assertion(
    state: &portcullis_decision::DecisionState,
    token: &str,
) -> (u16, axum::http::HeaderMap) {
    let (status, headers, _) = send(
        state,
        forward(
            PROXY,
            &[
                ("x-forwarded-host", "app.example.com"),
                ("cf-access-jwt-assertion", token),
            ],
        ),
    )
    .await;
    (status, headers)
}

#[tokio::test]
async fn no_session_is_a_401_with_the_login_url() {
    let f = fixture().await;
    let (status, headers, _) = send(
        &f.state,
        forward(
            PROXY,
            &[
                ("x-forwarded-host", "app.example.com"),
                ("x-forwarded-uri", "/docs?page=2"),
                ("x-forwarded-proto", "https"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        headers["x-portcullis-login-url"],
        "/cdn-cgi/access/login?redirect_url=https%3A%2F%2Fapp.example.com%2Fdocs%3Fpage%3D2"
    );
}

#[tokio::test]
async fn a_valid_cookie_is_a_200_with_email_and_assertion() {
    let f = fixture().await;
    let token = token_for(&f, AUD_APP, "alice@example.com");
    let cookie = format!("theme=dark; CF_Authorization={token}");
    let (status, headers, _) = send(
        &f.state,
        forward(
            PROXY,
            &[("x-forwarded-host", "app.example.com"), ("cookie", &cookie)],
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["cf-access-authenticated-user-email"],
        "alice@example.com"
    );
    assert_eq!(headers["cf-access-jwt-assertion"], token.as_str());
}

#[tokio::test]
async fn the_assertion_header_is_accepted_too() {
    let f = fixture().await;
    let token = token_for(&f, AUD_APP, "alice@example.com");
    let (status, _) = with_assertion(&f.state, &token).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_identity_is_re_evaluated_with_the_live_request() {
    let f = fixture().await;
    let token = token_for(&f, AUD_APP, "alice@example.com");
    // The policy excludes North Korea: same token, new country, denied.
    let (status, _, _) = send(
        &f.state,
        forward(
            PROXY,
            &[
                ("x-forwarded-host", "app.example.com"),
                ("cf-ipcountry", "KP"),
                ("cf-access-jwt-assertion", &token),
            ],
        ),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_policy_change_applies_to_existing_tokens() {
    let f = fixture().await;
    let token = token_for(&f, AUD_APP, "alice@example.com");
    let mut objects = fixture_objects();
    objects.policies[0] = json!({"id": "p-allow", "name": "employees", "decision": "allow",
        "include": [{"email": {"email": "bob@example.com"}}]});
    f.source.put("acc1", objects);
    f.refresher.refresh().await.unwrap();
    let (status, _) = with_assertion(&f.state, &token).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn an_expired_token_is_a_401() {
    let f = fixture().await;
    let token = token_for(&f, AUD_APP, "alice@example.com");
    f.clock.advance(Duration::hours(8) + Duration::seconds(1));
    let (status, headers) = with_assertion(&f.state, &token).await;
    assert_eq!(status, 401);
    assert!(headers.contains_key("x-portcullis-login-url"));
}

#[tokio::test]
async fn a_token_for_another_app_is_a_401() {
    let f = fixture().await;
    let token = token_for(&f, AUD_OTHER, "alice@example.com");
    let (status, _) = with_assertion(&f.state, &token).await;
    assert_eq!(status, 401);
}

fn claims(kid_aud: &str) -> AppTokenClaims {
    let now = t0().timestamp();
    AppTokenClaims {
        aud: vec![kid_aud.into()],
        email: Some("mallory@example.com".into()),
        sub: "mallory@example.com".into(),
        iss: "portcullis".into(),
        iat: now,
        nbf: now,
        exp: now + 3600,
        kind: "app".into(),
        identity_nonce: "n".into(),
        country: None,
        identity: Some(identity("mallory@example.com")),
    }
}

#[tokio::test]
async fn an_alg_none_token_is_a_401() {
    let f = fixture().await;
    let header = json!({"alg": "none", "typ": "JWT", "kid": shared_key(0).kid});
    let token = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims(AUD_APP)).unwrap())
    );
    let (status, _) = with_assertion(&f.state, &token).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_public_key_is_a_401() {
    let f = fixture().await;
    // The classic confusion attack: HMAC keyed with the published public key.
    let keys = f.state.keys.keys();
    let public_pem = keys.active.as_ref().unwrap().cert_pem.clone();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(shared_key(0).kid);
    let token = jsonwebtoken::encode(
        &header,
        &claims(AUD_APP),
        &EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .unwrap();
    let (status, _) = with_assertion(&f.state, &token).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_token_signed_by_an_unknown_key_is_a_401() {
    let f = fixture().await;
    let foreign = portcullis_decision::tokens::SigningKey::from_stored(shared_key(1)).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(shared_key(1).kid);
    let token = jsonwebtoken::encode(
        &header,
        &claims(AUD_APP),
        &EncodingKey::from_rsa_pem(foreign.stored.private_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let (status, _) = with_assertion(&f.state, &token).await;
    assert_eq!(status, 401);
    // Same key, our kid: the signature does not verify.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(shared_key(0).kid);
    let token = jsonwebtoken::encode(
        &header,
        &claims(AUD_APP),
        &EncodingKey::from_rsa_pem(foreign.stored.private_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let (status, _) = with_assertion(&f.state, &token).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn garbage_in_the_cookie_is_a_401() {
    let f = fixture().await;
    let (status, _, _) = send(
        &f.state,
        forward(
            PROXY,
            &[
                ("x-forwarded-host", "app.example.com"),
                ("cookie", "CF_Authorization=not.a.jwt"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn x_forwarded_for_from_a_trusted_proxy_is_believed() {
    let f = fixture().await;
    let (status, _, _) = send(
        &f.state,
        forward(
            PROXY,
            &[
                ("x-forwarded-host", "intranet.example.com"),
                ("x-forwarded-for", "10.1.2.3, 127.0.0.1"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 200, "bypass for the office range");
}

#[tokio::test]
async fn spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let f = fixture().await;
    let (status, _, _) = send(
        &f.state,
        forward(
            "203.0.113.50:5555",
            &[
                ("x-forwarded-host", "intranet.example.com"),
                ("x-forwarded-for", "10.1.2.3"),
            ],
        ),
    )
    .await;
    assert_eq!(
        status, 401,
        "the office bypass must not apply; no identity → login"
    );
}

#[tokio::test]
async fn a_country_header_from_an_untrusted_peer_is_ignored() {
    let f = fixture().await;
    let token = token_for(&f, AUD_APP, "alice@example.com");
    // KP would be excluded, but only a trusted proxy may say so; here the
    // header is dropped and the request is allowed as if no country were known.
    let (status, _, _) = send(
        &f.state,
        forward(
            "203.0.113.50:5555",
            &[
                ("x-forwarded-host", "app.example.com"),
                ("cf-ipcountry", "KP"),
                ("cf-access-jwt-assertion", &token),
            ],
        ),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_service_token_is_non_identity_with_a_fresh_assertion() {
    let f = fixture().await;
    let (status, headers, _) = send(
        &f.state,
        forward(
            PROXY,
            &[
                ("x-forwarded-host", "api.example.com"),
                ("cf-access-client-id", "ci.access"),
                ("cf-access-client-secret", "s3cret"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!headers.contains_key("cf-access-authenticated-user-email"));
    // The assertion names nobody: replayed without the service token it is not
    // an identity, so the allow policy (email domain) cannot match.
    let assertion = headers["cf-access-jwt-assertion"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, _, _) = send(
        &f.state,
        forward(
            PROXY,
            &[
                ("x-forwarded-host", "api.example.com"),
                ("cf-access-jwt-assertion", &assertion),
            ],
        ),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = send(
        &f.state,
        forward(
            PROXY,
            &[
                ("x-forwarded-host", "api.example.com"),
                ("cf-access-client-id", "ci.access"),
                ("cf-access-client-secret", "wrong"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_unknown_host_is_a_403() {
    let f = fixture().await;
    let (status, _, _) = send(
        &f.state,
        forward(PROXY, &[("x-forwarded-host", "unknown.example.net")]),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = send(&f.state, forward(PROXY, &[])).await;
    assert_eq!(status, 403, "no host at all");
}

#[tokio::test]
async fn a_valid_token_that_policies_refuse_is_a_403() {
    let f = fixture().await;
    let token = token_for(&f, AUD_APP, "eve@other.org");
    let (status, _) = with_assertion(&f.state, &token).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn an_internal_error_in_external_evaluation_is_a_deny() {
    let mut objects = fixture_objects();
    objects.policies[0] = json!({"id": "p-allow", "name": "employees", "decision": "allow",
        "include": [{"email_domain": {"domain": "example.com"}}],
        "require": [{"external_evaluation": {"evaluate_url": "https://eval.invalid/check", "keys_url": "https://eval.invalid/keys"}}]});
    let f = fixture_with(objects, Some(Arc::new(BrokenResolver))).await;
    let token = token_for(&f, AUD_APP, "alice@example.com");
    let (status, _) = with_assertion(&f.state, &token).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn served_on_a_socket_the_peer_address_reaches_forward_auth() {
    let f = fixture().await;
    let app = portcullis_decision::router(f.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let client = reqwest::Client::new();
    // Loopback is a trusted proxy, so its X-Forwarded-For is believed: office bypass.
    let response = client
        .get(format!("http://{addr}/auth/forward"))
        .header("x-forwarded-host", "intranet.example.com")
        .header("x-forwarded-for", "10.9.9.9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = client
        .get(format!("http://{addr}/auth/forward"))
        .header("x-forwarded-host", "intranet.example.com")
        .header("x-forwarded-for", "198.51.100.1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn a_cached_session_is_still_re_evaluated_and_a_forged_copy_refused() {
    let f = fixture().await;
    let token = token_for(&f, AUD_APP, "alice@example.com");
    let ask = |token: String, country: &'static str| {
        let state = f.state.clone();
        async move {
            let headers = [
                ("x-forwarded-host", "app.example.com"),
                ("cf-ipcountry", country),
                ("cf-access-jwt-assertion", token.as_str()),
            ];
            send(&state, forward(PROXY, &headers)).await.0
        }
    };
    assert_eq!(ask(token.clone(), "US").await, 200);
    assert_eq!(f.state.keys.verified().len(), 1);
    // Verified before, still decided with the live request.
    assert_eq!(ask(token.clone(), "KP").await, 403);
    // The same header and payload with another signature is not the cached token.
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(signature).unwrap();
    sig[0] ^= 0x80;
    let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&sig));
    assert_eq!(ask(forged, "US").await, 401);
    // A policy change applies to the cached session at once.
    let mut objects = fixture_objects();
    objects.policies[0] = json!({"id": "p-allow", "name": "employees", "decision": "allow",
        "include": [{"email": {"email": "bob@example.com"}}]});
    f.source.put("acc1", objects);
    f.refresher.refresh().await.unwrap();
    assert_eq!(ask(token, "US").await, 403);
}
