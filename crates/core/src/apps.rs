//! Finding the application a request is for, by host and path.
//!
//! An application's `domain` (and `self_hosted_domains`, public `destinations`) is
//! `host[/path]`. Matching rules, as Cloudflare Access applies them:
//! - hosts compare case-insensitively, without port or trailing dot;
//! - a `*` in the first label matches within that one label: `*.example.com`
//!   covers `a.example.com`, not `a.b.example.com` nor `example.com`;
//! - a path covers itself and everything below it (`/admin` covers `/admin/x`, not
//!   `/administrator`);
//! - the most specific application wins: an exact host before a wildcard host,
//!   then the longest path.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

/// Why a destination pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("{0:?} has no host name")]
    NoHost(String),
    #[error(
        "{0:?}: a wildcard is only allowed in the first label of the host (e.g. *.example.com)"
    )]
    WildcardPosition(String),
    #[error("{0:?} is not a host name")]
    BadHost(String),
}

/// A parsed `host[/path]` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Lower-case host; for wildcards, the part after the first label.
    host: Box<str>,
    /// Glob for the first label when the host has a wildcard.
    first_label_glob: Option<Box<str>>,
    /// Path prefix without a trailing slash; empty for the whole host.
    path: Box<str>,
}

impl Destination {
    pub fn parse(text: &str) -> Result<Destination, DestinationError> {
        let without_scheme = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .unwrap_or(text);
        let (host, path) = match without_scheme.find('/') {
            Some(i) => without_scheme.split_at(i),
            None => (without_scheme, ""),
        };
        let host = normalize_host(host);
        if host.is_empty() {
            return Err(DestinationError::NoHost(text.to_string()));
        }
        if host
            .chars()
            .any(|c| c.is_whitespace() || c == '@' || c == '?' || c == '#')
        {
            return Err(DestinationError::BadHost(text.to_string()));
        }
        let mut path = path.trim_end_matches('/');
        // `example.com/*` means the same as `example.com/`.
        if let Some(stripped) = path.strip_suffix("/*") {
            path = stripped;
        }
        let (first, rest) = host.split_once('.').unwrap_or((&host, ""));
        if rest.contains('*') {
            return Err(DestinationError::WildcardPosition(text.to_string()));
        }
        let (host, first_label_glob) = if first.contains('*') {
            if rest.is_empty() {
                return Err(DestinationError::WildcardPosition(text.to_string()));
            }
            (rest.into(), Some(first.into()))
        } else {
            (host.as_ref().into(), None)
        };
        Ok(Destination {
            host,
            first_label_glob,
            path: path.into(),
        })
    }

    pub fn is_wildcard(&self) -> bool {
        self.first_label_glob.is_some()
    }
}

/// Lower-cases a host and strips a port and a trailing dot. Borrows when the host
/// is already in normal form, which is the common case.
pub fn normalize_host(host: &str) -> Cow<'_, str> {
    let mut host = host;
    // A port is a `:` followed only by digits at the end; scanning back over the
    // digits (usually none) is cheaper than searching for the last `:`, and keeps
    // IPv6 literals ("[::1]:8443" → "[::1]") intact.
    let digits = host.bytes().rev().take_while(u8::is_ascii_digit).count();
    if let Some(colon) = host.len().checked_sub(digits + 1) {
        if host.as_bytes()[colon] == b':' {
            host = &host[..colon];
        }
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    // No early exit: the whole-string fold vectorises, and hosts are short.
    if host
        .bytes()
        .fold(false, |upper, b| upper | b.is_ascii_uppercase())
    {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

#[derive(Debug, Clone)]
struct Entry<T> {
    first_label_glob: Option<Box<str>>,
    path: Box<str>,
    target: T,
}

/// The applications of one exact host. The application covering the whole host
/// is kept inline: most hosts have only that one, and the lookup then reads
/// nothing beyond the hash table's slot.
#[derive(Debug, Clone)]
struct HostApps<T> {
    whole_host: Option<T>,
    /// Applications on paths of the host, longest path first.
    paths: Vec<Entry<T>>,
}

impl<T> Default for HostApps<T> {
    fn default() -> Self {
        HostApps {
            whole_host: None,
            paths: Vec::new(),
        }
    }
}

/// Host → applications, for requests that name a host instead of an app id.
#[derive(Debug, Clone)]
pub struct AppIndex<T> {
    exact: FxHashMap<Box<str>, HostApps<T>>,
    wildcard: FxHashMap<Box<str>, Vec<Entry<T>>>,
}

impl<T> Default for AppIndex<T> {
    fn default() -> Self {
        AppIndex {
            exact: FxHashMap::default(),
            wildcard: FxHashMap::default(),
        }
    }
}

impl<T: Copy> AppIndex<T> {
    /// Adds a destination. Returns the target already registered for the very same
    /// pattern, if any, so the caller can report the conflict.
    pub fn insert(&mut self, destination: &Destination, target: T) -> Option<T> {
        let entries = if destination.is_wildcard() {
            self.wildcard.entry(destination.host.clone()).or_default()
        } else {
            let apps = self.exact.entry(destination.host.clone()).or_default();
            if destination.path.is_empty() {
                return match apps.whole_host {
                    Some(existing) => Some(existing),
                    None => {
                        apps.whole_host = Some(target);
                        None
                    }
                };
            }
            &mut apps.paths
        };
        if let Some(existing) = entries.iter().find(|e| {
            e.path == destination.path && e.first_label_glob == destination.first_label_glob
        }) {
            return Some(existing.target);
        }
        entries.push(Entry {
            first_label_glob: destination.first_label_glob.clone(),
            path: destination.path.clone(),
            target,
        });
        // Longest path first, then the most literal wildcard label.
        entries.sort_by(|a, b| {
            b.path.len().cmp(&a.path.len()).then_with(|| {
                let literal =
                    |e: &Entry<T>| e.first_label_glob.as_deref().map_or(usize::MAX, str::len);
                literal(b).cmp(&literal(a))
            })
        });
        None
    }

    /// The most specific application for `host` and `path`.
    pub fn lookup(&self, host: &str, path: &str) -> Option<T> {
        let host = normalize_host(host);
        let path = if path.is_empty() { "/" } else { path };
        if let Some(apps) = self.exact.get(host.as_ref()) {
            if let Some(e) = apps.paths.iter().find(|e| path_covers(&e.path, path)) {
                return Some(e.target);
            }
            if apps.whole_host.is_some() {
                return apps.whole_host;
            }
        }
        let (first, rest) = host.split_once('.')?;
        let entries = self.wildcard.get(rest)?;
        entries
            .iter()
            .find(|e| {
                e.first_label_glob
                    .as_deref()
                    .is_some_and(|g| label_glob_matches(g, first))
                    && path_covers(&e.path, path)
            })
            .map(|e| e.target)
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcard.is_empty()
    }
}

/// Whether the app path `prefix` covers the request path (segment-aware).
fn path_covers(prefix: &str, path: &str) -> bool {
    if prefix.is_empty() {
        return true;
    }
    // Ignore the query string.
    let path = path.split(['?', '#']).next().unwrap_or(path);
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// `*` matches any run of characters within one non-empty label.
fn label_glob_matches(glob: &str, label: &str) -> bool {
    if label.is_empty() {
        return false;
    }
    let mut parts = glob.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = label.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if last {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(pos) => rest = &rest[pos + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(patterns: &[&str]) -> AppIndex<usize> {
        let mut idx = AppIndex::default();
        for (i, p) in patterns.iter().enumerate() {
            assert!(idx.insert(&Destination::parse(p).unwrap(), i).is_none());
        }
        idx
    }

    #[test]
    fn wildcard_covers_one_label_only() {
        let idx = index(&["*.example.com"]);
        assert_eq!(idx.lookup("a.example.com", "/"), Some(0));
        assert_eq!(idx.lookup("a.b.example.com", "/"), None);
        assert_eq!(idx.lookup("example.com", "/"), None);
    }

    #[test]
    fn most_specific_wins() {
        let idx = index(&["*.example.com", "app.example.com", "app.example.com/admin"]);
        assert_eq!(idx.lookup("app.example.com", "/admin/users"), Some(2));
        assert_eq!(idx.lookup("app.example.com", "/administrator"), Some(1));
        assert_eq!(idx.lookup("APP.example.com:443", "/"), Some(1));
        assert_eq!(idx.lookup("other.example.com", "/admin"), Some(0));
    }

    #[test]
    fn wildcard_path_falls_back_to_wildcard_host_when_exact_paths_do_not_cover() {
        let idx = index(&["app.example.com/api", "*.example.com"]);
        assert_eq!(idx.lookup("app.example.com", "/"), Some(1));
    }

    #[test]
    fn partial_label_globs() {
        let idx = index(&["*-staging.example.com"]);
        assert_eq!(idx.lookup("web-staging.example.com", "/"), Some(0));
        assert_eq!(idx.lookup("web-prod.example.com", "/"), None);
    }

    #[test]
    fn refuses_wildcards_outside_the_first_label() {
        assert!(Destination::parse("a.*.example.com").is_err());
        assert!(Destination::parse("*").is_err());
        assert!(Destination::parse("/path-only").is_err());
    }

    #[test]
    fn reports_duplicate_patterns() {
        let mut idx = index(&["a.example.com/x"]);
        assert_eq!(
            idx.insert(&Destination::parse("A.example.com/x/").unwrap(), 9),
            Some(0)
        );
    }
}
