//! `portcullis eval --setup FILE --request FILE|- [--explain]`

use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use portcullis_core::RequestContext;

use crate::corpus_run::{compile, decide, load_setup, read, with_time};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A setup object, or a corpus file whose setup is used.
    #[arg(long)]
    pub setup: PathBuf,
    /// The request context as JSON; `-` reads standard input.
    #[arg(long)]
    pub request: String,
    /// Add the explain trace: per policy, whether it matched and why.
    #[arg(long)]
    pub explain: bool,
}

pub fn run(args: &EvalArgs) -> Result<ExitCode, String> {
    let account = compile(&load_setup(&args.setup)?)?;
    let text = if args.request == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("standard input: {e}"))?;
        text
    } else {
        read(args.request.as_ref())?
    };
    let request: RequestContext =
        portcullis_formats::from_json(&text).map_err(|e| format!("request: {e}"))?;
    let result = decide(&account, &with_time(&request), args.explain);
    let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
    // `println!` would panic when the reader goes away (`portcullis eval … | head`);
    // a closed pipe is the reader's choice, not an error of ours.
    match writeln!(std::io::stdout().lock(), "{json}") {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(format!("standard output: {e}")),
    }
}
