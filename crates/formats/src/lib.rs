//! Wire formats of portcullis: Cloudflare Access, the ZTNA access-policy schema,
//! PingOne Authorize policy trees and Google Access Context Manager access levels.
//! Each is parsed from its own JSON, validated with field-level errors, and
//! lowered into the one IR of `portcullis-core`.

pub mod acm;
pub mod cloudflare;
pub mod corpus;
pub mod country;
pub mod error;
pub mod lower;
pub mod pingone;
pub mod stored;
pub mod ztna;

pub use error::{from_json, from_value, from_value_ref, FieldError, ValidationErrors};
