//! Validation errors that name the field they are about.

use std::fmt;

/// One problem with one field, e.g. `include[2].ip.ip: "10.0.0.300/8" is not an IP
/// address or CIDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path with `[i]` indices; empty for the object as a whole.
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one object, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// `Ok(())` when nothing was found.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Prefixes every path, e.g. with `policies[3]` when an object is nested.
    pub fn prefixed(self, prefix: &str) -> ValidationErrors {
        ValidationErrors(
            self.0
                .into_iter()
                .map(|e| FieldError {
                    path: join_path(prefix, &e.path),
                    message: e.message,
                })
                .collect(),
        )
    }

    pub fn single(path: impl Into<String>, message: impl Into<String>) -> ValidationErrors {
        let mut errors = ValidationErrors::default();
        errors.push(path, message);
        errors
    }
}

/// Joins two path segments: `a` + `b` → `a.b`, `a` + `[0]` → `a[0]`.
pub fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (_, true) => prefix.to_string(),
        _ if path.starts_with('[') => format!("{prefix}{path}"),
        _ => format!("{prefix}.{path}"),
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Parses JSON into a wire type, reporting the path of the first field that does
/// not fit (`include[2].ip: missing field \`ip\``).
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de)
        .map_err(|e| path_error(e.path().to_string(), e.into_inner()))
}

/// Parses a body with [`from_json`], then checks it: the first structural error
/// (with its path), or every semantic one `validate` finds.
pub fn parse_checked<T: serde::de::DeserializeOwned>(
    text: &str,
    validate: impl FnOnce(&T) -> Result<(), ValidationErrors>,
) -> Result<T, ValidationErrors> {
    let value: T = from_json(text).map_err(|e| ValidationErrors::single(e.path, e.message))?;
    validate(&value)?;
    Ok(value)
}

/// Like [`from_json`] for an already-parsed value.
pub fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, FieldError> {
    from_value_ref(&value)
}

/// Like [`from_value`], reading the value in place (no copy of the tree: the
/// snapshot builder reads every stored object of an account this way).
pub fn from_value_ref<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| path_error(e.path().to_string(), e.into_inner()))
}

fn path_error(path: String, inner: serde_json::Error) -> FieldError {
    let path = if path == "." { String::new() } else { path };
    let mut message = inner.to_string();
    // serde_json appends the position for syntax errors; keep it, it names the
    // spot in the body. For data errors inside a value it is noise.
    if !inner.is_syntax() && !inner.is_eof() {
        if let Some(idx) = message.find(" at line ") {
            message.truncate(idx);
        }
    }
    FieldError { path, message }
}
