//! Loading corpus and setup files and running cases against the engine.

use std::path::Path;

use chrono::Utc;
use portcullis_core::eval::EvalOptions;
use portcullis_core::{CompiledAccount, DecisionResult, RequestContext};
use portcullis_formats::corpus::{Case, CorpusFile, Setup};
use portcullis_formats::from_json;

pub fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn load_corpus(path: &Path) -> Result<CorpusFile, String> {
    let text = read(path)?;
    from_json::<CorpusFile>(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A setup file is either a whole corpus file (its `setup` is used) or a bare
/// setup object.
pub fn load_setup(path: &Path) -> Result<Setup, String> {
    let text = read(path)?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let result = if value.get("setup").is_some() {
        portcullis_formats::from_value::<CorpusFile>(value).map(|c| c.setup)
    } else {
        portcullis_formats::from_value::<Setup>(value)
    };
    result.map_err(|e| format!("{}: {e}", path.display()))
}

pub fn compile(setup: &Setup) -> Result<CompiledAccount, String> {
    let ir = setup.lower().map_err(|e| e.to_string())?;
    CompiledAccount::compile(&ir).map_err(|e| e.to_string())
}

/// The request with `time` set to now when the case leaves it out.
pub fn with_time(request: &RequestContext) -> RequestContext {
    let mut request = request.clone();
    if request.time.is_none() {
        request.time = Some(Utc::now());
    }
    request
}

pub fn decide(
    account: &CompiledAccount,
    request: &RequestContext,
    explain: bool,
) -> DecisionResult {
    account
        .evaluate(request, EvalOptions { explain })
        .to_result()
}

/// Runs one case; `Err` lists what did not match.
pub fn run_case(account: &CompiledAccount, case: &Case) -> Result<(), Vec<String>> {
    let result = decide(account, &with_time(&case.request), false);
    let problems = case.expect.check(&result);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
