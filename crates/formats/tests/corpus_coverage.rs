//! The conformance corpus must exercise every Cloudflare rule type: when a rule
//! type is added to the wire model, this fails until the corpus has cases for it.

use std::collections::BTreeSet;

use portcullis_formats::cloudflare::RULE_TYPES;
use portcullis_formats::corpus::CorpusFile;
use portcullis_formats::from_json;

const RULES_CORPUS: &str = include_str!("../../../tests/corpus/cloudflare-rules.json");

#[test]
fn rules_corpus_uses_every_rule_type() {
    let corpus: CorpusFile = from_json(RULES_CORPUS).unwrap();
    let mut used = BTreeSet::new();
    for policy in &corpus.setup.policies {
        for (_, rules) in policy.rule_lists() {
            used.extend(rules.iter().map(|r| r.type_name()));
        }
    }
    for group in &corpus.setup.groups {
        for (_, rules) in group.rule_lists() {
            used.extend(rules.iter().map(|r| r.type_name()));
        }
    }
    let missing: Vec<&str> = RULE_TYPES
        .iter()
        .copied()
        .filter(|t| !used.contains(t))
        .collect();
    assert!(missing.is_empty(), "no corpus policy uses {missing:?}");
}

#[test]
fn every_rule_type_has_a_matching_and_a_non_matching_case() {
    let corpus: CorpusFile = from_json(RULES_CORPUS).unwrap();
    // Each rule type has its own application; cases are named "<app key>: …".
    for app in &corpus.setup.apps {
        let id = app.id.as_deref().unwrap();
        let key = id.strip_prefix("app-").unwrap();
        let cases: Vec<_> = corpus
            .cases
            .iter()
            .filter(|c| {
                c.request
                    .resource
                    .as_ref()
                    .and_then(|r| r.app_id.as_deref())
                    == Some(id)
            })
            .collect();
        assert!(
            cases.iter().any(|c| c.expect.policy_id.is_some()),
            "{key}: no case where the rule matches"
        );
        // Rules whose only point is matching (`everyone` in a bypass, a rule
        // variant next to its main application) may skip the negative case.
        if !matches!(key, "everyone_bypass" | "github-org-only") {
            assert!(
                cases.iter().any(|c| c.expect.policy_id.is_none()),
                "{key}: no case where the rule does not match"
            );
        }
    }
}
