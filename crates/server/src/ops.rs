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

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
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
    ("get", "/healthz", "Liveness"),
    ("get", "/readyz", "Readiness: the database answers"),
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
