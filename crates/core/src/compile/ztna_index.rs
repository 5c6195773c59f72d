//! An index of an account's ZTNA policies by the application ids and hosts
//! their resources name, so a request is checked against the policies that can
//! govern it rather than all of them. The index only narrows the candidates:
//! each candidate's resource condition is still evaluated in full.

use rustc_hash::FxHashMap;

use crate::ir::{Condition, Predicate};

/// What a resource condition can only be true for.
enum Keys {
    /// True only when `resource.app_id` or the normalised `resource.host` is one
    /// of these (an empty set: never true).
    Some(Vec<Key>),
    /// Anything else: always a candidate.
    Any,
}

enum Key {
    App(String),
    Host(String),
}

fn keys(c: &Condition) -> Keys {
    match c {
        Condition::Leaf(Predicate::ResourceAppId(id)) => Keys::Some(vec![Key::App(id.clone())]),
        Condition::Leaf(Predicate::ResourceHost(host)) => {
            Keys::Some(vec![Key::Host(host.to_ascii_lowercase())])
        }
        // Every conjunct must hold, so one keyed conjunct is enough.
        Condition::All(items) => items
            .iter()
            .map(keys)
            .find(|k| matches!(k, Keys::Some(_)))
            .unwrap_or(Keys::Any),
        // One alternative must hold, so every alternative must be keyed.
        Condition::Any(items) => {
            let mut all = Vec::new();
            for item in items {
                match keys(item) {
                    Keys::Some(k) => all.extend(k),
                    Keys::Any => return Keys::Any,
                }
            }
            Keys::Some(all)
        }
        _ => Keys::Any,
    }
}

/// Candidate ZTNA policies (indices into `CompiledAccount::ztna`, ascending).
#[derive(Debug, Default)]
pub(crate) struct ZtnaIndex {
    pub by_app: FxHashMap<Box<str>, Vec<u32>>,
    pub by_host: FxHashMap<Box<str>, Vec<u32>>,
    /// Policies whose resources are not all named by app id or host.
    pub unkeyed: Vec<u32>,
}

impl ZtnaIndex {
    /// Adds policy `idx` (added in ascending order) with its resource condition.
    pub fn add(&mut self, idx: u32, resource: &Condition) {
        let push = |list: &mut Vec<u32>| {
            if list.last() != Some(&idx) {
                list.push(idx);
            }
        };
        match keys(resource) {
            Keys::Any => push(&mut self.unkeyed),
            Keys::Some(keys) => {
                for key in keys {
                    match key {
                        Key::App(id) => push(self.by_app.entry(id.into()).or_default()),
                        Key::Host(host) => push(self.by_host.entry(host.into()).or_default()),
                    }
                }
            }
        }
    }

    /// The candidates for a request, ascending and without repeats.
    pub fn candidates<'a>(
        &'a self,
        app_id: Option<&str>,
        host: Option<&str>,
    ) -> impl Iterator<Item = u32> + 'a {
        let lists: [&'a [u32]; 3] = [
            app_id
                .and_then(|a| self.by_app.get(a))
                .map_or(&[], Vec::as_slice),
            host.and_then(|h| self.by_host.get(h))
                .map_or(&[], Vec::as_slice),
            &self.unkeyed,
        ];
        let mut pos = [0usize; 3];
        let mut last = None;
        std::iter::from_fn(move || loop {
            let mut best: Option<(usize, u32)> = None;
            for (k, list) in lists.iter().enumerate() {
                if let Some(&v) = list.get(pos[k]) {
                    if best.is_none_or(|(_, b)| v < b) {
                        best = Some((k, v));
                    }
                }
            }
            let (k, v) = best?;
            pos[k] += 1;
            if last != Some(v) {
                last = Some(v);
                return Some(v);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(id: &str) -> Condition {
        Condition::Leaf(Predicate::ResourceAppId(id.into()))
    }

    fn host(h: &str) -> Condition {
        Condition::Leaf(Predicate::ResourceHost(h.into()))
    }

    #[test]
    fn narrows_to_the_policies_that_name_the_resource() {
        let mut index = ZtnaIndex::default();
        index.add(0, &app("a"));
        index.add(1, &Condition::Any(vec![app("a"), host("H.example.com")]));
        index.add(
            2,
            &Condition::All(vec![
                Condition::Leaf(Predicate::ResourcePort(vec![443])),
                host("h.example.com"),
            ]),
        );
        index.add(3, &Condition::Any(vec![app("b"), Condition::Const(true)]));
        index.add(4, &Condition::Any(vec![]));
        index.add(5, &Condition::All(vec![]));
        let got = |a, h| index.candidates(a, h).collect::<Vec<_>>();
        assert_eq!(got(Some("a"), Some("h.example.com")), [0, 1, 2, 3, 5]);
        assert_eq!(got(Some("a"), None), [0, 1, 3, 5]);
        assert_eq!(got(None, Some("h.example.com")), [1, 2, 3, 5]);
        assert_eq!(got(Some("zzz"), None), [3, 5]);
    }
}
