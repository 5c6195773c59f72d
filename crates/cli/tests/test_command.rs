//! `portcullis test FILE…` as DESIGN.md specifies it: one line per failing case,
//! a closing `N passed, N failed`, exit status 1 when any failed. Also checks
//! that the runner really compares (a wrong expectation fails), so a passing
//! corpus means something.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;

fn portcullis_test(files: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("test")
        .args(files)
        .output()
        .unwrap()
}

fn temp_corpus(name: &str, value: &serde_json::Value) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "portcullis-test-command-{}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&path, value.to_string()).unwrap();
    path
}

fn corpus(expect: serde_json::Value) -> serde_json::Value {
    json!({
        "name": "one case",
        "setup": {"account_id": "acc",
                  "policies": [{"id": "p1", "name": "p1", "decision": "allow",
                                "include": [{"email": {"email": "a@example.com"}}]}],
                  "apps": [{"id": "app1", "name": "app1", "domain": "app.example.com",
                            "policies": ["p1"]}]},
        "cases": [{"name": "alice",
                   "request": {"resource": {"host": "app.example.com"},
                               "identity": {"email": "a@example.com"}},
                   "expect": expect}]
    })
}

#[test]
fn the_project_corpus_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let out = portcullis_test(&files);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    let summary = stdout.lines().last().unwrap();
    assert!(summary.ends_with(" passed, 0 failed"), "{summary}");
}

#[test]
fn a_matching_expectation_passes() {
    let path = temp_corpus(
        "pass",
        &corpus(
            json!({"decision": "allow", "policy_id": "p1", "app_id": "app1",
                       "obligations": {"session_duration": "24h"}}),
        ),
    );
    let out = portcullis_test(std::slice::from_ref(&path));
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1 passed, 0 failed\n"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_wrong_expectation_fails_with_one_line_and_exit_status_1() {
    let path = temp_corpus(
        "fail",
        &corpus(json!({"decision": "deny", "policy_id": "p2"})),
    );
    let out = portcullis_test(std::slice::from_ref(&path));
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        format!(
            "FAIL {} / alice: decision: expected deny, got allow; policy_id: expected \"p2\", got \"p1\"\n0 passed, 1 failed\n",
            path.display()
        )
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn an_obligation_that_is_not_there_fails() {
    let path = temp_corpus(
        "obligation",
        &corpus(json!({"obligations": {"isolation": true}})),
    );
    let out = portcullis_test(std::slice::from_ref(&path));
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_bad_setup_fails_every_case_of_its_file() {
    let mut value = corpus(json!({"decision": "allow"}));
    value["setup"]["apps"][0]["policies"] = json!(["p-missing"]);
    let path = temp_corpus("bad-setup", &value);
    let out = portcullis_test(std::slice::from_ref(&path));
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        format!(
            "FAIL {}: setup: app \"app1\": policies[0].id: policy \"p-missing\" does not exist\n0 passed, 1 failed\n",
            path.display()
        )
    );
    assert_eq!(out.status.code(), Some(1));
}
