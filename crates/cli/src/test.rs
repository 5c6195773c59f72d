//! `portcullis test FILE…`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::corpus_run::{compile, load_corpus, run_case};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Corpus files (JSON: name, setup, cases).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(args: &TestArgs) -> Result<ExitCode, String> {
    let (mut passed, mut failed) = (0usize, 0usize);
    for path in &args.files {
        let corpus = match load_corpus(path) {
            Ok(c) => c,
            Err(e) => {
                println!("FAIL {e}");
                failed += 1;
                continue;
            }
        };
        let account = match compile(&corpus.setup) {
            Ok(a) => a,
            Err(e) => {
                println!("FAIL {}: setup: {e}", path.display());
                failed += corpus.cases.len().max(1);
                continue;
            }
        };
        for case in &corpus.cases {
            match run_case(&account, case) {
                Ok(()) => passed += 1,
                Err(problems) => {
                    failed += 1;
                    println!(
                        "FAIL {} / {}: {}",
                        path.display(),
                        case.name,
                        problems.join("; ")
                    );
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
