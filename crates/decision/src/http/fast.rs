//! The fast way to read a decide or `decide:batch` body: straight from the
//! bytes into typed values, without a `serde_json::Value` tree in between
//! (which, for a batch of 1000, cost more than the 1000 decisions).
//!
//! Only a fast path: a body it refuses, for whatever reason (invalid JSON, an
//! unknown or duplicate field, a wrong type), is read again the careful way,
//! which accepts what it always accepted and names the offending field in its
//! 400. Being stricter than the careful way is therefore always safe; being
//! laxer never is, hence `deny_unknown_fields` on every level and a test that
//! both ways read the same contexts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use portcullis_core::context::{
    ClientCertificate, Device, Identity, LinkedAppToken, Network, RequestContext, Resource,
    ServiceTokenCredentials,
};
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A JSON object and nothing else. A derived struct also accepts an array of
/// its fields in order, which the careful way (a `Value::Object` first) never
/// did.
pub(super) struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OnlyMaps<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OnlyMaps<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(OnlyMaps(PhantomData))
    }
}

/// A request context plus `issue_token`, field for field.
pub(super) type FastRequest = Object<FastFields>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FastFields {
    #[serde(default)]
    issue_token: Option<bool>,
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(default)]
    identity: Option<Identity>,
    #[serde(default)]
    service_token: Option<ServiceTokenCredentials>,
    #[serde(default)]
    certificate: Option<ClientCertificate>,
    #[serde(default)]
    linked_app_token: Option<LinkedAppToken>,
    #[serde(default)]
    network: Option<Network>,
    #[serde(default)]
    device: Option<Device>,
    #[serde(default)]
    time: Option<DateTime<Utc>>,
    #[serde(default)]
    external: BTreeMap<String, bool>,
}

impl FastRequest {
    pub(super) fn into_parts(self) -> (RequestContext, bool) {
        let Object(fields) = self;
        fields.into_parts()
    }
}

impl FastFields {
    fn into_parts(self) -> (RequestContext, bool) {
        // No `..Default::default()`: a field added to RequestContext must be
        // added here too, or this does not compile.
        let req = RequestContext {
            resource: self.resource,
            identity: self.identity,
            service_token: self.service_token,
            certificate: self.certificate,
            linked_app_token: self.linked_app_token,
            network: self.network,
            device: self.device,
            time: self.time,
            external: self.external,
        };
        (req, self.issue_token.unwrap_or(false))
    }
}

pub(super) type FastBatch = Object<BatchFields>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchFields {
    pub requests: Vec<FastRequest>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn careful(body: &serde_json::Value) -> Option<(RequestContext, bool)> {
        let mut object = body.as_object()?.clone();
        let issue = match object.remove("issue_token") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => b,
            Some(_) => return None,
        };
        let req = portcullis_formats::from_value(serde_json::Value::Object(object)).ok()?;
        Some((req, issue))
    }

    fn fast(body: &serde_json::Value) -> Option<(RequestContext, bool)> {
        serde_json::from_slice::<FastRequest>(body.to_string().as_bytes())
            .ok()
            .map(FastRequest::into_parts)
    }

    #[test]
    fn both_ways_read_the_same_context() {
        let bodies = [
            json!({}),
            json!({"issue_token": true}),
            json!({"issue_token": null, "resource": null}),
            json!({
                "resource": {"host": "app.example.com", "path": "/admin", "port": 443, "type": "application"},
                "identity": {
                    "email": "alice@example.com", "user_id": "u-123",
                    "idp": {"id": "okta-main", "type": "okta"},
                    "groups": ["eng", "admins@example.com"],
                    "github": [{"org": "acme", "teams": ["sre"]}],
                    "amr": ["pwd", "mfa"], "claims": {"department": "eng", "n": 3},
                    "saml_attributes": {"role": ["admin", "dev"]}, "auth_contexts": ["c1"],
                    "risk_level": "low", "risk_score": 12,
                    "workload": "spiffe://example.org/ns/prod/sa/api"
                },
                "service_token": {"client_id": "id", "client_secret": "secret"},
                "certificate": {"verified": true, "common_name": "device-42"},
                "linked_app_token": {"app_uid": "uid"},
                "network": {"ip": "203.0.113.9", "country": "US",
                    "vpc": {"network": "//compute.googleapis.com/projects/p/global/networks/n", "ip": "10.0.0.5"}},
                "device": {"id": "d-1", "posture_passed": ["r"], "os_type": "DESKTOP_MAC",
                    "os_version": "14.2.0", "encryption_status": "ENCRYPTED", "screenlock": true,
                    "management_level": "COMPLETE", "admin_approved": true, "corp_owned": true},
                "time": "2026-11-22T10:00:00Z",
                "external": {"https://eval.example.com/check": true},
                "issue_token": false
            }),
        ];
        for body in &bodies {
            let fast = fast(body);
            assert!(fast.is_some(), "{body}");
            assert_eq!(fast, careful(body), "{body}");
        }
    }

    #[test]
    fn what_the_careful_way_refuses_the_fast_way_refuses_too() {
        for body in [
            json!({"emial": "x"}),
            json!({"identity": {"emial": "x"}}),
            json!({"issue_token": "yes"}),
            json!({"resource": {"port": 70000}}),
            json!({"time": "yesterday"}),
            json!([]),
            json!(null),
            json!([null, {"host": "app.example.com"}]),
        ] {
            assert_eq!(careful(&body), None, "{body}");
            assert_eq!(fast(&body), None, "{body}");
        }
        for batch in [
            json!([[]]),
            json!({"requests": [[]]}),
            json!({"requests": [{}], "extra": 1}),
            json!({"requests": {}}),
            json!({}),
        ] {
            assert!(
                serde_json::from_slice::<FastBatch>(batch.to_string().as_bytes()).is_err(),
                "{batch}"
            );
        }
    }
}
