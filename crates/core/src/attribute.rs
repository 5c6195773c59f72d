//! Dotted attribute paths into the request context (`identity.email`,
//! `identity.claims.department`, `network.country`), as PingOne conditions and
//! repetition sources name them. Paths are resolved once, when a policy is
//! compiled; an unknown path is a write-time error, never a silent `false`.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::context::RequestContext;

/// A request attribute, resolved from its dotted name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributePath {
    ResourceAppId,
    ResourceHost,
    ResourcePath,
    ResourcePort,
    ResourceType,
    IdentityEmail,
    IdentityUserId,
    IdentityIdpId,
    IdentityIdpType,
    IdentityGroups,
    IdentityAmr,
    IdentityAuthContexts,
    IdentityRiskLevel,
    IdentityRiskScore,
    IdentityWorkload,
    /// `identity.github`: the organisations the user belongs to.
    IdentityGithubOrgs,
    /// `identity.claims.a.b`: a (possibly nested) OIDC claim.
    IdentityClaim(Vec<String>),
    /// `identity.saml_attributes.NAME`: the values of a SAML attribute.
    IdentitySamlAttribute(String),
    ServiceTokenClientId,
    CertificateVerified,
    CertificateCommonName,
    LinkedAppTokenAppUid,
    NetworkIp,
    NetworkCountry,
    NetworkVpcNetwork,
    NetworkVpcIp,
    DeviceId,
    DevicePosturePassed,
    DeviceOsType,
    DeviceOsVersion,
    DeviceEncryptionStatus,
    DeviceScreenlock,
    DeviceManagementLevel,
    DeviceAdminApproved,
    DeviceCorpOwned,
    Time,
}

/// The value of an attribute in one request. Borrowed: looking up an attribute
/// never allocates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttrValue<'a> {
    Missing,
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Strs(&'a [String]),
    Json(&'a serde_json::Value),
    Ip(IpAddr),
    Time(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a request attribute (e.g. identity.email, identity.groups, identity.claims.NAME, network.country, device.os_type)")]
pub struct UnknownAttribute(pub String);

impl AttributePath {
    pub fn parse(text: &str) -> Result<AttributePath, UnknownAttribute> {
        use AttributePath::*;
        let unknown = || UnknownAttribute(text.to_string());
        if let Some(rest) = text.strip_prefix("identity.claims.") {
            if rest.is_empty() || rest.split('.').any(str::is_empty) {
                return Err(unknown());
            }
            return Ok(IdentityClaim(rest.split('.').map(str::to_string).collect()));
        }
        if let Some(rest) = text.strip_prefix("identity.saml_attributes.") {
            if rest.is_empty() {
                return Err(unknown());
            }
            return Ok(IdentitySamlAttribute(rest.to_string()));
        }
        Ok(match text {
            "resource.app_id" => ResourceAppId,
            "resource.host" => ResourceHost,
            "resource.path" => ResourcePath,
            "resource.port" => ResourcePort,
            "resource.type" => ResourceType,
            "identity.email" => IdentityEmail,
            "identity.user_id" => IdentityUserId,
            "identity.idp.id" => IdentityIdpId,
            "identity.idp.type" => IdentityIdpType,
            "identity.groups" => IdentityGroups,
            "identity.amr" => IdentityAmr,
            "identity.auth_contexts" => IdentityAuthContexts,
            "identity.risk_level" => IdentityRiskLevel,
            "identity.risk_score" => IdentityRiskScore,
            "identity.workload" => IdentityWorkload,
            "identity.github" => IdentityGithubOrgs,
            "service_token.client_id" => ServiceTokenClientId,
            "certificate.verified" => CertificateVerified,
            "certificate.common_name" => CertificateCommonName,
            "linked_app_token.app_uid" => LinkedAppTokenAppUid,
            "network.ip" => NetworkIp,
            "network.country" => NetworkCountry,
            "network.vpc.network" => NetworkVpcNetwork,
            "network.vpc.ip" => NetworkVpcIp,
            "device.id" => DeviceId,
            "device.posture_passed" => DevicePosturePassed,
            "device.os_type" => DeviceOsType,
            "device.os_version" => DeviceOsVersion,
            "device.encryption_status" => DeviceEncryptionStatus,
            "device.screenlock" => DeviceScreenlock,
            "device.management_level" => DeviceManagementLevel,
            "device.admin_approved" => DeviceAdminApproved,
            "device.corp_owned" => DeviceCorpOwned,
            "time" => Time,
            _ => return Err(unknown()),
        })
    }

    /// Reads the attribute from a request.
    pub fn lookup<'a>(&self, req: &'a RequestContext) -> AttrValue<'a> {
        use AttributePath::*;
        let s = |v: Option<&'a String>| v.map_or(AttrValue::Missing, |v| AttrValue::Str(v));
        let b = |v: Option<bool>| v.map_or(AttrValue::Missing, AttrValue::Bool);
        let list = |v: &'a [String]| AttrValue::Strs(v);
        let resource = req.resource.as_ref();
        let identity = req.identity.as_ref();
        let network = req.network.as_ref();
        let device = req.device.as_ref();
        match self {
            ResourceAppId => s(resource.and_then(|r| r.app_id.as_ref())),
            ResourceHost => s(resource.and_then(|r| r.host.as_ref())),
            ResourcePath => s(resource.and_then(|r| r.path.as_ref())),
            ResourcePort => resource
                .and_then(|r| r.port)
                .map_or(AttrValue::Missing, |p| AttrValue::Num(f64::from(p))),
            ResourceType => s(resource.and_then(|r| r.kind.as_ref())),
            IdentityEmail => s(identity.and_then(|i| i.email.as_ref())),
            IdentityUserId => s(identity.and_then(|i| i.user_id.as_ref())),
            IdentityIdpId => s(identity
                .and_then(|i| i.idp.as_ref())
                .and_then(|p| p.id.as_ref())),
            IdentityIdpType => s(identity
                .and_then(|i| i.idp.as_ref())
                .and_then(|p| p.kind.as_ref())),
            IdentityGroups => identity.map_or(AttrValue::Missing, |i| list(&i.groups)),
            IdentityAmr => identity.map_or(AttrValue::Missing, |i| list(&i.amr)),
            IdentityAuthContexts => identity.map_or(AttrValue::Missing, |i| list(&i.auth_contexts)),
            IdentityRiskLevel => identity
                .and_then(|i| i.risk_level)
                .map_or(AttrValue::Missing, |r| AttrValue::Str(r.as_str())),
            IdentityRiskScore => identity
                .and_then(|i| i.risk_score)
                .map_or(AttrValue::Missing, |r| AttrValue::Num(f64::from(r))),
            IdentityWorkload => s(identity.and_then(|i| i.workload.as_ref())),
            // Organisations are structured; a condition sees the first one. Lists of
            // organisations are matched by the Cloudflare `github-organization` rule.
            IdentityGithubOrgs => identity
                .and_then(|i| i.github.first())
                .map_or(AttrValue::Missing, |g| AttrValue::Str(&g.org)),
            IdentityClaim(path) => {
                let Some(mut value) = identity.and_then(|i| i.claims.get(&path[0])) else {
                    return AttrValue::Missing;
                };
                for key in &path[1..] {
                    match value.get(key) {
                        Some(v) => value = v,
                        None => return AttrValue::Missing,
                    }
                }
                json_value(value)
            }
            IdentitySamlAttribute(name) => identity
                .and_then(|i| i.saml_attributes.get(name))
                .map_or(AttrValue::Missing, |v| AttrValue::Strs(v)),
            ServiceTokenClientId => s(req.service_token.as_ref().map(|t| &t.client_id)),
            CertificateVerified => b(req.certificate.as_ref().map(|c| c.verified)),
            CertificateCommonName => s(req
                .certificate
                .as_ref()
                .and_then(|c| c.common_name.as_ref())),
            LinkedAppTokenAppUid => s(req.linked_app_token.as_ref().map(|t| &t.app_uid)),
            NetworkIp => network
                .and_then(|n| n.ip)
                .map_or(AttrValue::Missing, AttrValue::Ip),
            NetworkCountry => s(network.and_then(|n| n.country.as_ref())),
            NetworkVpcNetwork => s(network.and_then(|n| n.vpc.as_ref()).map(|v| &v.network)),
            NetworkVpcIp => network
                .and_then(|n| n.vpc.as_ref())
                .and_then(|v| v.ip)
                .map_or(AttrValue::Missing, AttrValue::Ip),
            DeviceId => s(device.and_then(|d| d.id.as_ref())),
            DevicePosturePassed => device.map_or(AttrValue::Missing, |d| list(&d.posture_passed)),
            DeviceOsType => s(device.and_then(|d| d.os_type.as_ref())),
            DeviceOsVersion => s(device.and_then(|d| d.os_version.as_ref())),
            DeviceEncryptionStatus => s(device.and_then(|d| d.encryption_status.as_ref())),
            DeviceScreenlock => b(device.and_then(|d| d.screenlock)),
            DeviceManagementLevel => s(device.and_then(|d| d.management_level.as_ref())),
            DeviceAdminApproved => b(device.and_then(|d| d.admin_approved)),
            DeviceCorpOwned => b(device.and_then(|d| d.corp_owned)),
            Time => req.time.map_or(AttrValue::Missing, AttrValue::Time),
        }
    }
}

/// A JSON claim as an attribute value: scalars become scalars, everything else
/// stays JSON (arrays are searched by `CONTAINS`).
pub fn json_value(value: &serde_json::Value) -> AttrValue<'_> {
    match value {
        serde_json::Value::Null => AttrValue::Missing,
        serde_json::Value::Bool(b) => AttrValue::Bool(*b),
        serde_json::Value::Number(n) => n.as_f64().map_or(AttrValue::Missing, AttrValue::Num),
        serde_json::Value::String(s) => AttrValue::Str(s),
        other => AttrValue::Json(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_known_paths_and_refuses_others() {
        assert_eq!(
            AttributePath::parse("identity.email"),
            Ok(AttributePath::IdentityEmail)
        );
        assert_eq!(
            AttributePath::parse("identity.claims.org.unit"),
            Ok(AttributePath::IdentityClaim(vec![
                "org".into(),
                "unit".into()
            ]))
        );
        assert!(AttributePath::parse("identity.emial").is_err());
        assert!(AttributePath::parse("identity.claims.").is_err());
    }

    #[test]
    fn looks_up_nested_claims() {
        let req: RequestContext = serde_json::from_str(
            r#"{"identity": {"claims": {"org": {"unit": "sre"}, "level": 3}}}"#,
        )
        .unwrap();
        let path = AttributePath::parse("identity.claims.org.unit").unwrap();
        assert_eq!(path.lookup(&req), AttrValue::Str("sre"));
        let level = AttributePath::parse("identity.claims.level").unwrap();
        assert_eq!(level.lookup(&req), AttrValue::Num(3.0));
        let email = AttributePath::parse("identity.email").unwrap();
        assert_eq!(email.lookup(&req), AttrValue::Missing);
    }
}
