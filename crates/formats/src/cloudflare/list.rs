//! Zero Trust lists (`/accounts/{a}/gateway/lists`). Access rules read EMAIL lists
//! (`email_list`) and IP lists (`ip_list`); a list change takes effect without
//! touching the policies that use it.

use portcullis_core::ip::parse_cidr_or_ip;
use portcullis_core::ir::{ListIr, ListKind};
use serde::{Deserialize, Serialize};

use super::rule::looks_like_email;
use crate::error::ValidationErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ListType {
    #[serde(rename = "EMAIL")]
    Email,
    #[serde(rename = "IP")]
    Ip,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListItem {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZeroTrustList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub list_type: Option<ListType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<ListItem>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// Checks one list value against the list's type.
pub fn validate_item(list_type: ListType, value: &str) -> Result<(), String> {
    match list_type {
        ListType::Email if looks_like_email(value) => Ok(()),
        ListType::Email => Err(format!("{value:?} is not an email address")),
        ListType::Ip => parse_cidr_or_ip(value)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

impl ZeroTrustList {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        super::check_name(&self.name, &mut errors);
        match self.list_type {
            None => errors.push("type", "is required (EMAIL or IP)"),
            Some(t) => {
                for (i, item) in self.items.iter().flatten().enumerate() {
                    if let Err(e) = validate_item(t, &item.value) {
                        errors.push(format!("items[{i}].value"), e);
                    }
                }
            }
        }
        errors.into_result()
    }

    pub fn lower(&self, id: &str) -> ListIr {
        ListIr {
            id: id.to_string(),
            kind: match self.list_type {
                Some(ListType::Ip) => ListKind::Ip,
                _ => ListKind::Email,
            },
            items: self
                .items
                .iter()
                .flatten()
                .map(|i| i.value.clone())
                .collect(),
        }
    }
}
