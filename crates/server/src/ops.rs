//! Operations: liveness, readiness, the OpenAPI document, and 404 for
//! everything else.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder};

use crate::error::ApiError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi_json))
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and the decision snapshot is current. When
/// either fails the node is degraded: decisions are still answered from the last
/// snapshot, but the 503 tells the load balancer and the operator.
async fn readyz(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await;
    let database = matches!(ping, Ok(Ok(())));
    let snapshot = state
        .decisions
        .as_ref()
        .map(|d| (d.snapshots.degraded(), d.snapshots.load().sequence()));
    match (database, snapshot) {
        (true, None | Some((false, _))) => "ready".into_response(),
        (false, None) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
        (database, Some((_, sequence))) => {
            let cause = if database {
                "the snapshot could not be refreshed"
            } else {
                "database unavailable"
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("degraded: {cause}; decisions are served from the last snapshot (sequence {sequence})"),
            )
                .into_response()
        }
    }
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// Other routes' (method, path, summary) in addition to the admin API.
const OPS_ROUTES: &[(&str, &str, &str)] = &[
    (
        "get",
        "/v1/accounts/{owner}/audit",
        "The account's audit log, newest first",
    ),
    (
        "get",
        crate::decision_wiring::access_requests::PATH,
        "The account's access requests log (Cloudflare fields; limit, direction, since, until)",
    ),
    (
        "post",
        "/v1/accounts/{owner}/decide",
        "Decide one request context (decision API)",
    ),
    (
        "post",
        "/v1/accounts/{owner}/decide:batch",
        "Decide up to 1000 request contexts against one snapshot",
    ),
    (
        "get",
        "/auth/forward",
        "Forward-auth for nginx, Caddy and Traefik",
    ),
    (
        "get",
        "/cdn-cgi/access/certs",
        "Token signing keys: JWKS and PEM",
    ),
    ("get", "/metrics", "Prometheus metrics"),
    ("get", "/healthz", "Liveness"),
    (
        "get",
        "/readyz",
        "Readiness: the database answers and the decision snapshot is current (503 when degraded)",
    ),
    ("get", "/openapi.json", "This document"),
];

fn method(m: &str) -> HttpMethod {
    match m {
        "post" => HttpMethod::Post,
        "put" => HttpMethod::Put,
        "patch" => HttpMethod::Patch,
        "delete" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// The OpenAPI tag of a path: which API it belongs to.
fn tag_of(path: &str) -> &'static str {
    if path.starts_with("/client/v4") {
        "cloudflare"
    } else if path.starts_with("/v1/accessPolicies") || path.starts_with("/v1/operations") {
        "google-acm"
    } else if path.starts_with("/v1/environments") {
        "pingone"
    } else if path.contains("/ztna/") {
        "ztna"
    } else {
        "operations"
    }
}

/// The OpenAPI document of every route this router serves.
pub fn openapi() -> OpenApi {
    let mut paths = PathsBuilder::new();
    let routes = crate::cloudflare::ROUTES
        .iter()
        .chain(crate::acm::ROUTES)
        .chain(crate::ztna::ROUTES)
        .chain(crate::pingone::ROUTES)
        .chain(OPS_ROUTES);
    for (m, path, summary) in routes {
        let paths_for: Vec<String> = if path.contains("{scope}") {
            ["accounts", "zones"]
                .iter()
                .map(|s| path.replace("{scope}", s))
                .collect()
        } else {
            vec![path.to_string()]
        };
        for p in paths_for {
            let op = OperationBuilder::new()
                .summary(Some(*summary))
                .tag(tag_of(&p))
                .build();
            paths = paths.path(p, PathItem::new(method(m), op));
        }
    }
    let components = ComponentsBuilder::new()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("portcullis admin API")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}

async fn openapi_json() -> Json<OpenApi> {
    Json(openapi())
}
