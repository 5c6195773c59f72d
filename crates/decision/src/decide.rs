//! The decision call: fill in what core cannot know (the time, external
//! evaluation results), decide against the live snapshot, optionally sign a
//! token, and record the decision (metrics, one log line, the access log).

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use portcullis_core::context::RequestContext;
use portcullis_core::decision::ExplainEntry;
use portcullis_core::duration::parse_go_duration;
use portcullis_core::eval::EvalOptions;
use portcullis_core::{Decision, DecisionResult};
use serde::Serialize;

use crate::access_log::AccessLogEntry;
use crate::error::DecisionError;
use crate::external::resolve_all;
use crate::live::LiveSnapshot;
use crate::state::DecisionState;
use crate::tokens::{app_audience, issue};

/// Options of one decide call.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecideOptions {
    pub explain: bool,
    pub issue_token: bool,
}

/// A decision result plus the token, when one was asked for and issued.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecideResponse {
    #[serde(flatten)]
    pub result: DecisionResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Decides synchronously against a snapshot: no I/O, no lock. External results
/// must already be in `req.external`.
pub fn evaluate(
    live: &LiveSnapshot,
    account_id: &str,
    req: &RequestContext,
    explain: bool,
) -> DecisionResult {
    let Some(account) = live.snapshot().account(account_id) else {
        return no_account(account_id, explain);
    };
    account.evaluate(req, EvalOptions { explain }).to_result()
}

/// An account without policies denies everything.
fn no_account(account_id: &str, explain: bool) -> DecisionResult {
    let mut result = DecisionResult::new(Decision::Deny);
    if explain {
        result.explain = Some(vec![ExplainEntry {
            policy_id: String::new(),
            matched: false,
            because: format!("account {account_id:?} has no policies: deny"),
        }]);
    }
    result
}

/// The audience tag tokens for an application carry: its stored `aud`, else
/// one derived from the account and app ids. Only computed when a token is
/// issued, never on the plain decision path.
pub fn app_aud(live: &LiveSnapshot, account_id: &str, app_id: &str) -> Option<String> {
    let app = live.snapshot().account(account_id)?.app(app_id)?;
    Some(
        app.aud()
            .map_or_else(|| app_audience(account_id, app_id), str::to_string),
    )
}

/// How long a token issued for this result lives: the policy's session
/// duration, Cloudflare's default 24h otherwise.
pub fn session_length(result: &DecisionResult) -> Duration {
    result
        .obligations
        .session_duration
        .as_deref()
        .and_then(|d| parse_go_duration(d).ok())
        .and_then(|d| Duration::from_std(d).ok())
        .unwrap_or_else(|| Duration::hours(24))
}

/// One decide call, as `POST /v1/accounts/{id}/decide` makes it.
pub async fn decide(
    state: &DecisionState,
    account_id: &str,
    req: RequestContext,
    options: DecideOptions,
) -> Result<DecideResponse, DecisionError> {
    let live = state.snapshots.load();
    decide_on(state, &live, state.clock.now(), account_id, req, options).await
}

/// One decision against a snapshot already loaded, `now` being the time of the
/// call (the request's time when it names none, and the token's `iat`).
async fn decide_on(
    state: &DecisionState,
    live: &LiveSnapshot,
    now: DateTime<Utc>,
    account_id: &str,
    mut req: RequestContext,
    options: DecideOptions,
) -> Result<DecideResponse, DecisionError> {
    let started = Instant::now();
    req.time.get_or_insert(now);
    // The account and the application are looked up once, for the external
    // evaluations and the decision both.
    let account = live.snapshot().account(account_id);
    let app = account.and_then(|a| a.find_app(&req));
    if let Some(found) = account.zip(app).and_then(|(a, i)| a.app_at(i)) {
        let rules = live.external_rules(account_id, found.id());
        if !rules.is_empty() {
            let failures = resolve_all(state.external.as_ref(), rules, &mut req).await;
            state.metrics.record_external_failures(failures);
        }
    }
    let result = match account {
        Some(account) => account
            .evaluate_for_app(
                &req,
                app,
                EvalOptions {
                    explain: options.explain,
                },
            )
            .to_result(),
        None => no_account(account_id, options.explain),
    };
    let wants_token =
        options.issue_token && matches!(result.decision, Decision::Allow | Decision::NonIdentity);
    let aud = result
        .app_id
        .as_deref()
        .filter(|_| wants_token)
        .and_then(|app_id| app_aud(live, account_id, app_id));
    let token = match aud {
        Some(aud) => {
            let country = req.network.as_ref().and_then(|n| n.country.as_deref());
            let (token, _) = issue(
                &state.keys,
                &state.config.issuer,
                &aud,
                req.identity.as_ref(),
                country,
                session_length(&result),
                now,
            )
            .map_err(|e| DecisionError::Internal(e.to_string()))?;
            Some(token)
        }
        None => None,
    };
    record(state, "decide", account_id, &req, &result, started, None);
    Ok(DecideResponse { result, token })
}

/// A short reason for the log line (never identity data).
fn reason(result: &DecisionResult) -> &'static str {
    match (result.decision, &result.policy_id, &result.app_id) {
        (_, Some(_), _) => "policy matched",
        (Decision::LoginRequired, None, _) => "no identity",
        (Decision::Deny, None, None) => "no application",
        (Decision::Deny, None, Some(_)) => "no policy matched",
        _ => "sources combined",
    }
}

/// A ray id names one decision in the logs; it is no secret, so it comes
/// from the thread's generator (seeded from the OS) rather than a system call
/// per decision.
pub(crate) fn new_ray_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut b);
    crate::tokens::hex(&b)
}

/// Metrics, the structured log line and the access-log row of one decision.
pub(crate) fn record(
    state: &DecisionState,
    action: &'static str,
    account_id: &str,
    req: &RequestContext,
    result: &DecisionResult,
    started: Instant,
    app_domain: Option<&str>,
) {
    let latency = started.elapsed();
    state.metrics.record_decision(result.decision, latency);
    let ray_id = new_ray_id();
    tracing::info!(
        target: "portcullis::decision",
        action,
        account = account_id,
        decision = result.decision.as_str(),
        app = result.app_id.as_deref().unwrap_or(""),
        policy = result.policy_id.as_deref().unwrap_or(""),
        reason = reason(result),
        latency_us = latency.as_micros() as u64,
        ray_id = %ray_id,
        "decision"
    );
    let network = req.network.as_ref();
    state.access_log.record(AccessLogEntry {
        account_id: account_id.to_string(),
        action: action.to_string(),
        allowed: result.decision.permits(),
        app_domain: app_domain
            .map(str::to_string)
            .or_else(|| req.resource.as_ref().and_then(|r| r.host.clone())),
        app_uid: result.app_id.clone(),
        country: network.and_then(|n| n.country.clone()),
        created_at: state.clock.now(),
        ip_address: network.and_then(|n| n.ip).map(|ip| ip.to_string()),
        ray_id,
        user_email: req.identity.as_ref().and_then(|i| i.email.clone()),
    });
}

/// A `decide:batch`: one snapshot and one "now" for every request, results in
/// request order.
pub async fn decide_batch(
    state: &DecisionState,
    account_id: &str,
    requests: Vec<(RequestContext, bool)>,
    explain: bool,
) -> Result<Vec<DecideResponse>, DecisionError> {
    let live = state.snapshots.load();
    let now = state.clock.now();
    let mut out = Vec::with_capacity(requests.len());
    for (req, issue_token) in requests {
        let options = DecideOptions {
            explain,
            issue_token,
        };
        out.push(decide_on(state, &live, now, account_id, req, options).await?);
    }
    Ok(out)
}
