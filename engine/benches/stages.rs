//! Per-stage benchmarks of the engine (filled in below).
fn main() {}
