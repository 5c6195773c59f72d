//! Checks across the top-level policies of one environment: unique ids, every
//! reference resolves, and references never loop (a loop would make the tree
//! infinite).

use std::collections::HashMap;

use super::policy::PolicyNode;
use crate::error::ValidationErrors;

/// Every `value.id` reference under a node, with the path of the field.
fn references<'a>(node: &'a PolicyNode, path: &str, out: &mut Vec<(String, &'a str)>) {
    for (i, child) in node.children.iter().flatten().enumerate() {
        let child_path = if path.is_empty() {
            format!("children[{i}]")
        } else {
            format!("{path}.children[{i}]")
        };
        match child.reference_id() {
            Some(id) => out.push((format!("{child_path}.value.id"), id)),
            None => references(child, &child_path, out),
        }
    }
}

/// Validates a set of top-level policies given with their ids. Paths start with
/// the policy's index (`[1].children[0].value.id`).
pub fn validate_policy_set(policies: &[(&str, &PolicyNode)]) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, (id, _)) in policies.iter().enumerate() {
        if index.insert(id, i).is_some() {
            errors.push(
                format!("[{i}].id"),
                format!("another authorization policy already has the id {id:?}"),
            );
        }
    }
    let mut edges: Vec<Vec<(String, usize)>> = Vec::with_capacity(policies.len());
    for (i, (_, policy)) in policies.iter().enumerate() {
        let mut refs = Vec::new();
        references(policy, "", &mut refs);
        let mut out = Vec::new();
        for (path, target) in refs {
            match index.get(target) {
                Some(t) => out.push((path, *t)),
                None => errors.push(
                    format!("[{i}].{path}"),
                    format!("authorization policy {target:?} does not exist"),
                ),
            }
        }
        edges.push(out);
    }
    // Depth-first search; a back edge closes a cycle, reported at the reference
    // that closes it.
    let mut state = vec![0u8; policies.len()];
    let mut stack: Vec<usize> = Vec::new();
    for start in 0..policies.len() {
        if state[start] == 0 {
            if let Some((from, path, to)) = find_back_edge(start, &edges, &mut state, &mut stack) {
                let begin = stack.iter().position(|n| *n == to).unwrap_or(0);
                let mut names: Vec<&str> = stack[begin..].iter().map(|n| policies[*n].0).collect();
                names.push(policies[to].0);
                errors.push(
                    format!("[{from}].{path}"),
                    format!("references form a cycle: {}", names.join(" → ")),
                );
                break;
            }
        }
    }
    errors.into_result()
}

fn find_back_edge(
    node: usize,
    edges: &[Vec<(String, usize)>],
    state: &mut [u8],
    stack: &mut Vec<usize>,
) -> Option<(usize, String, usize)> {
    state[node] = 1;
    stack.push(node);
    for (path, to) in &edges[node] {
        match state[*to] {
            1 => return Some((node, path.clone(), *to)),
            0 => {
                if let Some(found) = find_back_edge(*to, edges, state, stack) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    stack.pop();
    state[node] = 2;
    None
}
