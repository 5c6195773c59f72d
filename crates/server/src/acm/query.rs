//! Query parameters of the Google API. Google's standard parameters (`alt`,
//! `prettyPrint`, `fields`, `$.xgafv`, `key`, `quotaUser`, …) are accepted and
//! ignored: responses are always JSON.

use std::collections::HashMap;

use crate::error::ApiError;
use crate::paging::{cursor, next_offset, parse_cursor};

pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: usize = 1000;

/// Every query parameter of a call.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct GoogleQuery(pub HashMap<String, String>);

/// How `get` and `list` return levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelFormat {
    AsDefined,
    Cel,
}

impl GoogleQuery {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// (offset, page size) from `pageToken` and `pageSize`; the token is a
    /// [`crate::paging`] cursor.
    pub fn page(&self) -> Result<(usize, usize), ApiError> {
        let size = match self.get("pageSize").filter(|s| !s.is_empty()) {
            None => DEFAULT_PAGE_SIZE,
            Some(s) => match s.parse::<i64>() {
                Ok(0) => DEFAULT_PAGE_SIZE,
                Ok(n) if n > 0 => usize::try_from(n)
                    .unwrap_or(MAX_PAGE_SIZE)
                    .min(MAX_PAGE_SIZE),
                _ => {
                    return Err(ApiError::field(
                        "pageSize",
                        format!("{s:?} is not a non-negative integer"),
                    ))
                }
            },
        };
        let offset = match self.get("pageToken").filter(|s| !s.is_empty()) {
            None => 0,
            Some(t) => parse_cursor("pageToken", "page token", t)?,
        };
        Ok((usize::try_from(offset).unwrap_or(usize::MAX), size))
    }

    pub fn level_format(&self) -> Result<LevelFormat, ApiError> {
        match self.get("accessLevelFormat") {
            None | Some("" | "LEVEL_FORMAT_UNSPECIFIED" | "AS_DEFINED") => {
                Ok(LevelFormat::AsDefined)
            }
            Some("CEL") => Ok(LevelFormat::Cel),
            Some(other) => Err(ApiError::field(
                "accessLevelFormat",
                format!("{other:?} is not LEVEL_FORMAT_UNSPECIFIED, AS_DEFINED or CEL"),
            )),
        }
    }
}

/// One page of `items` and the token of the next, if any.
pub fn page_of<T: Clone>(items: &[T], offset: usize, size: usize) -> (Vec<T>, Option<String>) {
    let page: Vec<T> = items.iter().skip(offset).take(size).cloned().collect();
    let token = next_offset(offset as u64, size as u64, items.len() as u64).map(cursor);
    (page, token)
}
