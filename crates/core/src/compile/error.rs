//! Errors found while compiling an account into a snapshot.

use std::fmt;

/// Stable classification of compile errors, for API error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompileErrorKind {
    /// A reference to a group, list, token, policy or level that does not exist.
    DanglingReference,
    /// Groups, PingOne policies or access levels that refer to each other in a loop.
    ReferenceCycle,
    /// Two policies with the same precedence on one application.
    DuplicatePrecedence,
    /// Two objects of one kind with the same id.
    DuplicateId,
    /// Two applications claim the same host and path.
    DomainConflict,
    /// A value that does not parse (CIDR, time window, CEL, destination).
    InvalidValue,
    /// A rule used where it is not allowed (`linked_app_token` in an allow policy).
    MisplacedRule,
}

impl CompileErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            CompileErrorKind::DanglingReference => "dangling_reference",
            CompileErrorKind::ReferenceCycle => "reference_cycle",
            CompileErrorKind::DuplicatePrecedence => "duplicate_precedence",
            CompileErrorKind::DuplicateId => "duplicate_id",
            CompileErrorKind::DomainConflict => "domain_conflict",
            CompileErrorKind::InvalidValue => "invalid_value",
            CompileErrorKind::MisplacedRule => "misplaced_rule",
        }
    }
}

/// A compile error: which object, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub kind: CompileErrorKind,
    /// The object, e.g. `policy "p-eng"` or `app "app-wiki"`.
    pub object: String,
    /// Where in the object, e.g. `include[0]`; empty for the object as a whole.
    pub path: String,
    pub message: String,
}

impl CompileError {
    pub(crate) fn new(
        kind: CompileErrorKind,
        object: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        CompileError {
            kind,
            object: object.into(),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.object, self.message)
        } else {
            write!(f, "{}: {}: {}", self.object, self.path, self.message)
        }
    }
}

impl std::error::Error for CompileError {}
