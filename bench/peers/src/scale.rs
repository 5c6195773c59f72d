//! Compile time and resident memory for 100,000 policies (20,000 applications
//! with 5 policies each), measured in a child process of its own so that the
//! peers and the main workload do not count towards its resident size.

use std::process::{Command, ExitCode};
use std::time::Instant;

use portcullis_core::CompiledAccount;

use crate::workload::{self, Shape};

const SHAPE: Shape = Shape {
    apps: 20_000,
    policies_per_app: 5,
    requests: 0,
};

/// Resident set size in KiB, from `/proc/self/status`.
fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

extern "C" {
    /// glibc: hands freed heap pages back to the OS, so that VmRSS after a drop
    /// shows what is still live rather than what malloc keeps cached.
    fn malloc_trim(pad: usize) -> i32;
}

fn trim() {
    // SAFETY: malloc_trim has no preconditions; it only releases free memory.
    unsafe {
        malloc_trim(0);
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Runs `--scale-only` in a child process and returns what it printed.
pub fn run_child() -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .arg("--scale-only")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn run() -> ExitCode {
    let base = vm_rss_kib();
    let started = Instant::now();
    let work = workload::generate(SHAPE, 0x5CA1E);
    let generated = started.elapsed();
    trim();
    let with_wire = vm_rss_kib();
    let started = Instant::now();
    let ir = work.setup.lower().expect("the workload lowers");
    let lowered = started.elapsed();
    let started = Instant::now();
    let account = CompiledAccount::compile(&ir).expect("the workload compiles");
    let compiled = started.elapsed();
    let with_all = vm_rss_kib();
    drop(work);
    drop(ir);
    trim();
    let compiled_only = vm_rss_kib();
    println!(
        "scale: {} policies in {} apps: lower (wire -> IR) {:.0} ms, compile (IR -> snapshot) {:.0} ms (generating the wire objects took {:.0} ms)",
        account.policy_count(),
        SHAPE.apps,
        lowered.as_secs_f64() * 1e3,
        compiled.as_secs_f64() * 1e3,
        generated.as_secs_f64() * 1e3
    );
    println!(
        "scale: VmRSS {:.1} MiB at start, {:.1} MiB with wire objects, {:.1} MiB with wire + IR + compiled, {:.1} MiB after dropping wire and IR (the compiled snapshot alone; heap trimmed with malloc_trim before each reading after a drop)",
        mib(base),
        mib(with_wire),
        mib(with_all),
        mib(compiled_only)
    );
    std::hint::black_box(&account);
    ExitCode::SUCCESS
}
