//! PingOne decision endpoints, decided against the live snapshot: the endpoint
//! id is resolved to its policy in the account's compiled form and the policy
//! tree is evaluated there. No store, no lock: the same path as every other
//! decision.

use portcullis_core::context::RequestContext;
use portcullis_core::decision::AuthorizeDecision;
use portcullis_core::eval::AuthorizeOutcome;

use crate::live::LiveSnapshot;

/// The outcome of decision endpoint `endpoint_id` of `account_id` for `req`;
/// `None` when the snapshot holds no such endpoint. An endpoint whose policy no
/// longer exists (the admin API refuses to delete a policy an endpoint uses, so
/// only a direct store write gets there) decides INDETERMINATE with no
/// statements: the caller gets an answer it must already handle, not a 404 that
/// reads as a wrong URL.
pub fn decide_endpoint<'a>(
    live: &'a LiveSnapshot,
    account_id: &str,
    endpoint_id: &str,
    req: &RequestContext,
) -> Option<AuthorizeOutcome<'a>> {
    let account = live.snapshot().account(account_id)?;
    let policy_id = account.decision_endpoint_policy(endpoint_id)?;
    Some(
        account
            .evaluate_authorization_policy(req, policy_id)
            .unwrap_or_else(|| {
                tracing::warn!(
                    account = %account_id,
                    endpoint = %endpoint_id,
                    policy = %policy_id,
                    "decision endpoint names a policy that does not exist: INDETERMINATE"
                );
                AuthorizeOutcome {
                    decision: AuthorizeDecision::Indeterminate,
                    statements: Vec::new(),
                }
            }),
    )
}
