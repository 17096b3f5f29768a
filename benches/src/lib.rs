//! Benchmark helpers for wikidex (see `benches/*.sh`).
