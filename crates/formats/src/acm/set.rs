//! Checks across the access levels of one account: unique names, unique titles
//! within a policy, every required level (basic `requiredAccessLevels` or custom
//! `levels.NAME`) exists, and no level requires itself through others.

use std::collections::HashMap;

use portcullis_core::cel::CelProgram;

use super::level::AccessLevel;
use crate::error::ValidationErrors;

/// Every level a level needs, with the path of the field that names it.
fn requirements(level: &AccessLevel) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, c) in level.conditions().iter().enumerate() {
        for (j, required) in c.required_access_levels().iter().enumerate() {
            out.push((
                format!("basic.conditions[{i}].requiredAccessLevels[{j}]"),
                required.clone(),
            ));
        }
    }
    let expression = level
        .custom
        .as_ref()
        .and_then(|c| c.expr.as_ref())
        .and_then(|e| e.expression.as_deref());
    if let (Some(expression), Some(name)) = (expression, level.level_name()) {
        // An expression that does not compile is reported by `validate`.
        if let Ok(program) = CelProgram::compile(expression) {
            for short in program.referenced_levels() {
                out.push((
                    "custom.expr.expression".to_string(),
                    format!("{}{short}", name.scope()),
                ));
            }
        }
    }
    out
}

/// Validates a set of levels; paths start with the level's index
/// (`[2].basic.conditions[0].requiredAccessLevels[0]`).
pub fn validate_level_set(levels: &[&AccessLevel]) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut titles: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, level) in levels.iter().enumerate() {
        let Some(name) = level.name.as_deref() else {
            continue;
        };
        if index.insert(name, i).is_some() {
            errors.push(
                format!("[{i}].name"),
                format!("another access level is already named {name:?}"),
            );
        }
        if let (Some(title), Some(parsed)) = (level.title.as_deref(), level.level_name()) {
            if titles.insert((parsed.policy, title), i).is_some() {
                errors.push(
                    format!("[{i}].title"),
                    format!(
                        "another level of accessPolicies/{} already has the title {title:?}",
                        parsed.policy
                    ),
                );
            }
        }
    }
    let mut edges: Vec<Vec<(String, usize)>> = Vec::with_capacity(levels.len());
    for (i, level) in levels.iter().enumerate() {
        let mut out = Vec::new();
        for (path, target) in requirements(level) {
            match index.get(target.as_str()) {
                Some(t) => out.push((path, *t)),
                None => errors.push(
                    format!("[{i}].{path}"),
                    format!("access level {target:?} does not exist"),
                ),
            }
        }
        edges.push(out);
    }
    if let Some((from, path, cycle)) = find_cycle(&edges) {
        let names: Vec<&str> = cycle
            .iter()
            .map(|n| levels[*n].name.as_deref().unwrap_or_default())
            .collect();
        errors.push(
            format!("[{from}].{path}"),
            format!(
                "access levels require each other in a cycle: {}",
                names.join(" → ")
            ),
        );
    }
    errors.into_result()
}

/// The first cycle found: the node and field closing it, and the nodes on it
/// (the first repeated at the end).
fn find_cycle(edges: &[Vec<(String, usize)>]) -> Option<(usize, String, Vec<usize>)> {
    fn visit(
        node: usize,
        edges: &[Vec<(String, usize)>],
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<(usize, String, Vec<usize>)> {
        state[node] = 1;
        stack.push(node);
        for (path, to) in &edges[node] {
            if state[*to] == 1 {
                let begin = stack.iter().position(|n| n == to).unwrap_or(0);
                let mut cycle = stack[begin..].to_vec();
                cycle.push(*to);
                return Some((node, path.clone(), cycle));
            }
            if state[*to] == 0 {
                if let Some(found) = visit(*to, edges, state, stack) {
                    return Some(found);
                }
            }
        }
        stack.pop();
        state[node] = 2;
        None
    }
    let mut state = vec![0u8; edges.len()];
    let mut stack = Vec::new();
    (0..edges.len()).find_map(|start| {
        if state[start] == 0 {
            visit(start, edges, &mut state, &mut stack)
        } else {
            None
        }
    })
}
