//! Counts heap allocations per portcullis decision over the benchmark workload.
//! A separate binary because a counting allocator would tax the peers' timings
//! in the main benchmark (they allocate far more per decision).
//!
//! `cargo run --release --bin alloc_probe`

#[path = "../workload.rs"]
mod workload;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use portcullis_core::eval::EvalOptions;
use portcullis_core::CompiledAccount;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let shape = workload::Shape {
        apps: 1_000,
        policies_per_app: 3,
        requests: 10_000,
    };
    let work = workload::generate(shape, 0x5EED_2026);
    let ir = work.setup.lower().expect("the workload lowers");
    let account = CompiledAccount::compile(&ir).expect("the workload compiles");
    for (name, options) in [
        ("plain", EvalOptions::default()),
        ("with explain", EvalOptions { explain: true }),
    ] {
        let mut worst = 0;
        let mut allocating = 0;
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for req in &work.requests {
            let start = ALLOCATIONS.load(Ordering::Relaxed);
            std::hint::black_box(account.evaluate(req, options).decision);
            let n = ALLOCATIONS.load(Ordering::Relaxed) - start;
            worst = worst.max(n);
            allocating += usize::from(n > 0);
        }
        let total = ALLOCATIONS.load(Ordering::Relaxed) - before;
        println!(
            "portcullis {name}: {:.2} allocations per decision on average, {worst} at most, {allocating} of {} decisions allocate",
            total as f64 / work.requests.len() as f64,
            work.requests.len()
        );
    }
}
