//! Google Access Context Manager access levels
//! (`accesscontextmanager.googleapis.com/v1`): wire types, validation, lowering
//! into the IR, and the translation of basic levels into CEL.

mod level;
mod lower;
mod policy;
mod set;
#[cfg(test)]
mod tests;
mod to_cel;

pub use level::{
    parse_level, parse_level_name, AccessLevel, AcmCondition, BasicLevel, CombiningFunction,
    CustomLevel, DeviceEncryptionStatus, DeviceManagementLevel, DevicePolicy, Expr, LevelName,
    OsConstraint, OsType, VpcNetworkSource, VpcSubNetwork,
};
pub use policy::{parse_organization, AccessPolicy};
pub use set::validate_level_set;
pub use to_cel::basic_to_cel;
