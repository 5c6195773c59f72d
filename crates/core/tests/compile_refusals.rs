//! Access groups that refer to each other: compilation refuses exactly the
//! accounts with a cycle or a dangling reference (DESIGN.md: "Cycles and dangling
//! references are rejected at write time"), checked against a plain depth-first
//! search on random reference graphs.

use portcullis_core::ir::{AccessGroupIr, AccountIr, Condition, Predicate};
use portcullis_core::{CompileErrorKind, CompiledAccount};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Edges: for each group, the groups its rules name (ids may be past the last
/// group, which makes them dangling), and where (include, require or exclude).
fn account(edges: &[Vec<(usize, u8)>]) -> AccountIr {
    let groups = edges
        .iter()
        .enumerate()
        .map(|(i, targets)| {
            let mut g = AccessGroupIr {
                id: format!("g{i}"),
                include: vec![Condition::Leaf(Predicate::Everyone)],
                require: Vec::new(),
                exclude: Vec::new(),
            };
            for (target, place) in targets {
                let rule = Condition::Leaf(Predicate::Group(format!("g{target}")));
                match place % 3 {
                    0 => g.include.push(rule),
                    1 => g.require.push(rule),
                    _ => g.exclude.push(rule),
                }
            }
            g
        })
        .collect();
    AccountIr {
        account_id: "acc".into(),
        groups,
        ..AccountIr::default()
    }
}

fn has_cycle(edges: &[Vec<(usize, u8)>]) -> bool {
    // From every node, walk every path; a path that returns to a node on it is
    // a cycle. Exponential in general, fine for six nodes.
    fn walk(edges: &[Vec<(usize, u8)>], node: usize, path: &mut Vec<usize>) -> bool {
        if path.contains(&node) {
            return true;
        }
        path.push(node);
        for (next, _) in &edges[node] {
            if *next < edges.len() && walk(edges, *next, path) {
                return true;
            }
        }
        path.pop();
        false
    }
    (0..edges.len()).any(|n| walk(edges, n, &mut Vec::new()))
}

fn has_dangling(edges: &[Vec<(usize, u8)>]) -> bool {
    edges.iter().flatten().any(|(t, _)| *t >= edges.len())
}

proptest! {
    #![proptest_config(Config { cases: 2_000, failure_persistence: None, ..Config::default() })]

    #[test]
    fn compile_refuses_exactly_cycles_and_dangling_references(
        edges in vec(vec((0usize..7, any::<u8>()), 0..3), 1..7)
    ) {
        let result = CompiledAccount::compile(&account(&edges));
        let (dangling, cycle) = (has_dangling(&edges), has_cycle(&edges));
        match result {
            Ok(_) => prop_assert!(!dangling && !cycle, "accepted: {:?}", edges),
            Err(e) => {
                prop_assert!(dangling || cycle, "refused a valid account: {}", e);
                prop_assert!(
                    matches!(e.kind, CompileErrorKind::DanglingReference | CompileErrorKind::ReferenceCycle),
                    "{}", e
                );
                if !dangling {
                    prop_assert_eq!(e.kind, CompileErrorKind::ReferenceCycle);
                }
                if !cycle {
                    prop_assert_eq!(e.kind, CompileErrorKind::DanglingReference);
                }
            }
        }
    }
}
