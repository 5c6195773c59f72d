//! The client for Cloudflare `external_evaluation` rules.
//!
//! For each rule an application's policies may consult, the service POSTs
//! `{"token": JWT}` to `evaluate_url`; the JWT is signed with this service's key
//! (the evaluator checks it against `/cdn-cgi/access/certs`) and carries the
//! identity and a fresh `nonce`. The evaluator answers `{"token": JWT}` signed
//! with a key from `keys_url` (a JWKS) and claiming `{"success": bool, "nonce"}`.
//! Answers are cached per rule and identity for 60 s. A timeout (2 s), a bad
//! signature, a wrong nonce or any other failure is "no match": fail closed.
//! The result lands in `RequestContext::external`, keyed by `evaluate_url`, so
//! core decides without doing I/O.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use portcullis_core::context::RequestContext;
use serde::{Deserialize, Serialize};

use crate::build::ExternalRule;
use crate::tokens::{Jwk, KeyRing};

/// Why an external evaluation did not produce an answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExternalError {
    #[error("external evaluation timed out")]
    Timeout,
    #[error("external evaluation request failed: {0}")]
    Transport(String),
    #[error("external evaluation answer is invalid: {0}")]
    BadAnswer(String),
    #[error("external evaluation cannot sign its request: {0}")]
    Signing(String),
}

/// Resolves one external rule for one request.
#[async_trait]
pub trait ExternalResolver: Send + Sync + 'static {
    async fn resolve(
        &self,
        rule: &ExternalRule,
        req: &RequestContext,
    ) -> Result<bool, ExternalError>;
}

/// Fills `req.external` for every rule not already answered. Failures count as
/// `false` and are logged without the identity.
pub async fn resolve_all(
    resolver: &dyn ExternalResolver,
    rules: &[ExternalRule],
    req: &mut RequestContext,
) -> usize {
    let mut failures = 0;
    for rule in rules {
        if req.external.contains_key(&rule.evaluate_url) {
            continue;
        }
        let answer = match resolver.resolve(rule, req).await {
            Ok(a) => a,
            Err(e) => {
                failures += 1;
                tracing::warn!(evaluate_url = %rule.evaluate_url, error = %e, "external evaluation failed; treated as no match");
                false
            }
        };
        req.external.insert(rule.evaluate_url.clone(), answer);
    }
    failures
}

/// What the service sends to the evaluator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluationRequestClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<portcullis_core::context::Identity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// What the evaluator signs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluationAnswerClaims {
    pub success: bool,
    pub nonce: String,
    #[serde(default)]
    pub exp: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TokenBody {
    pub token: String,
}

#[derive(Debug, Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

type CacheKey = (String, String, String);
/// A cached value and when it stops being fresh.
type Fresh<T> = (T, Instant);

/// The HTTP client for external evaluations, with its answer and JWKS caches.
pub struct ExternalEvaluator {
    http: reqwest::Client,
    keys: Arc<KeyRing>,
    issuer: String,
    timeout: Duration,
    answer_ttl: Duration,
    failure_ttl: Duration,
    jwks_ttl: Duration,
    // Short critical sections only, and only for apps with external rules.
    answers: Mutex<HashMap<CacheKey, Fresh<Result<bool, ExternalError>>>>,
    jwks: Mutex<HashMap<String, Fresh<Arc<Vec<Jwk>>>>>,
}

impl ExternalEvaluator {
    pub const TIMEOUT: Duration = Duration::from_secs(2);
    pub const ANSWER_TTL: Duration = Duration::from_secs(60);

    pub fn new(keys: Arc<KeyRing>, issuer: impl Into<String>) -> Result<Self, ExternalError> {
        let http = reqwest::Client::builder()
            .timeout(Self::TIMEOUT)
            .build()
            .map_err(|e| ExternalError::Transport(e.to_string()))?;
        Ok(ExternalEvaluator {
            http,
            keys,
            issuer: issuer.into(),
            timeout: Self::TIMEOUT,
            answer_ttl: Self::ANSWER_TTL,
            failure_ttl: Duration::from_secs(5),
            jwks_ttl: Duration::from_secs(300),
            answers: Mutex::new(HashMap::new()),
            jwks: Mutex::new(HashMap::new()),
        })
    }

    fn cache_key(rule: &ExternalRule, req: &RequestContext) -> CacheKey {
        let who = req
            .identity
            .as_ref()
            .and_then(|i| i.email.clone().or_else(|| i.user_id.clone()))
            .unwrap_or_default();
        (rule.evaluate_url.clone(), rule.keys_url.clone(), who)
    }

    fn cached(&self, key: &CacheKey) -> Option<Result<bool, ExternalError>> {
        let answers = self.answers.lock().ok()?;
        let (answer, until) = answers.get(key)?;
        (Instant::now() < *until).then(|| answer.clone())
    }

    fn remember(&self, key: CacheKey, answer: Result<bool, ExternalError>) {
        let ttl = if answer.is_ok() {
            self.answer_ttl
        } else {
            self.failure_ttl
        };
        if let Ok(mut answers) = self.answers.lock() {
            let now = Instant::now();
            if answers.len() > 10_000 {
                answers.retain(|_, (_, until)| *until > now);
            }
            answers.insert(key, (answer, now + ttl));
        }
    }

    async fn signing_keys(
        &self,
        keys_url: &str,
        refresh: bool,
    ) -> Result<Arc<Vec<Jwk>>, ExternalError> {
        if !refresh {
            if let Ok(cache) = self.jwks.lock() {
                if let Some((keys, until)) = cache.get(keys_url) {
                    if Instant::now() < *until {
                        return Ok(Arc::clone(keys));
                    }
                }
            }
        }
        let response = self
            .http
            .get(keys_url)
            .send()
            .await
            .map_err(|e| ExternalError::Transport(e.to_string()))?;
        if !response.status().is_success() {
            return Err(ExternalError::Transport(format!(
                "keys_url answered {}",
                response.status()
            )));
        }
        let jwks: Jwks = response
            .json()
            .await
            .map_err(|e| ExternalError::BadAnswer(format!("keys_url: {e}")))?;
        let keys = Arc::new(jwks.keys);
        if let Ok(mut cache) = self.jwks.lock() {
            cache.insert(
                keys_url.to_string(),
                (Arc::clone(&keys), Instant::now() + self.jwks_ttl),
            );
        }
        Ok(keys)
    }

    async fn ask(&self, rule: &ExternalRule, req: &RequestContext) -> Result<bool, ExternalError> {
        let now = self.keys.now().timestamp();
        let nonce = {
            use rand::RngCore;
            let mut b = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut b);
            crate::tokens::hex(&b)
        };
        let claims = EvaluationRequestClaims {
            iss: self.issuer.clone(),
            aud: rule.evaluate_url.clone(),
            iat: now,
            exp: now + 60,
            nonce: nonce.clone(),
            email: req.identity.as_ref().and_then(|i| i.email.clone()),
            identity: req.identity.clone(),
            country: req.network.as_ref().and_then(|n| n.country.clone()),
            ip: req
                .network
                .as_ref()
                .and_then(|n| n.ip)
                .map(|ip| ip.to_string()),
        };
        let set = self.keys.keys();
        let key = set
            .active
            .as_ref()
            .ok_or_else(|| ExternalError::Signing("no signing key".into()))?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid().to_string());
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|e| ExternalError::Signing(e.to_string()))?;
        let response = self
            .http
            .post(&rule.evaluate_url)
            .json(&TokenBody { token })
            .send()
            .await
            .map_err(|e| ExternalError::Transport(e.to_string()))?;
        if !response.status().is_success() {
            return Err(ExternalError::Transport(format!(
                "evaluate_url answered {}",
                response.status()
            )));
        }
        let body: TokenBody = response
            .json()
            .await
            .map_err(|e| ExternalError::BadAnswer(e.to_string()))?;
        let answer = self.verify_answer(rule, &body.token, now).await?;
        if answer.nonce != nonce {
            return Err(ExternalError::BadAnswer("nonce does not match".into()));
        }
        Ok(answer.success)
    }

    async fn verify_answer(
        &self,
        rule: &ExternalRule,
        token: &str,
        now: i64,
    ) -> Result<EvaluationAnswerClaims, ExternalError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| ExternalError::BadAnswer(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(ExternalError::BadAnswer(format!(
                "algorithm {:?}",
                header.alg
            )));
        }
        let mut keys = self.signing_keys(&rule.keys_url, false).await?;
        let pick = |keys: &[Jwk]| -> Option<Jwk> {
            match &header.kid {
                Some(kid) => keys.iter().find(|k| &k.kid == kid).cloned(),
                None if keys.len() == 1 => keys.first().cloned(),
                None => None,
            }
        };
        let jwk = match pick(keys.as_slice()) {
            Some(k) => k,
            None => {
                // The evaluator may have rotated: fetch its keys once more.
                keys = self.signing_keys(&rule.keys_url, true).await?;
                pick(keys.as_slice())
                    .ok_or_else(|| ExternalError::BadAnswer("unknown signing key".into()))?
            }
        };
        let decoding = DecodingKey::from_rsa_components(&jwk.n, &jwk.e)
            .map_err(|e| ExternalError::BadAnswer(e.to_string()))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<EvaluationAnswerClaims>(token, &decoding, &validation)
            .map_err(|e| ExternalError::BadAnswer(e.to_string()))?;
        if data.claims.exp.is_some_and(|exp| exp <= now) {
            return Err(ExternalError::BadAnswer("answer has expired".into()));
        }
        Ok(data.claims)
    }
}

#[async_trait]
impl ExternalResolver for ExternalEvaluator {
    async fn resolve(
        &self,
        rule: &ExternalRule,
        req: &RequestContext,
    ) -> Result<bool, ExternalError> {
        let key = Self::cache_key(rule, req);
        if let Some(answer) = self.cached(&key) {
            return answer;
        }
        let answer = match tokio::time::timeout(self.timeout, self.ask(rule, req)).await {
            Ok(a) => a,
            Err(_) => Err(ExternalError::Timeout),
        };
        self.remember(key, answer.clone());
        answer
    }
}
