//! The `portcullis` binary.

mod bench;
mod corpus_run;
mod eval;
mod serve;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// portcullis: a self-hosted Zero Trust access service.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run conformance corpus files and report every failing case.
    Test(test::TestArgs),
    /// Decide one request against a setup and print the decision as JSON.
    Eval(eval::EvalArgs),
    /// Measure decision latency and throughput on a corpus file's setup and requests.
    Bench(bench::BenchArgs),
    /// Run the HTTP service (admin and decision APIs, forward-auth, health checks, OpenAPI).
    Serve(serve::ServeArgs),
    /// Manage admin API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a new signing key and retire the others (they stay published until
    /// their tokens expire); running servers pick it up within 30 s.
    Rotate(serve::KeysRotateArgs),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an admin API token (stored hashed, printed once).
    Create(serve::TokenCreateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Test(args) => test::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Serve(args) => serve::serve(&args),
        Command::Token(TokenCommand::Create(args)) => serve::token_create(&args),
        Command::Keys(KeysCommand::Rotate(args)) => serve::keys_rotate(&args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
