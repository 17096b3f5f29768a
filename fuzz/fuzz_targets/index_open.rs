//! Fuzz target `index_open`: see `wikidex_fuzz::index_open` for what it checks.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target; in a
//! plain build it is a binary that replays files and directories given as
//! arguments (default: `fuzz/seeds/index_open`), and with `--mutate N` also runs N
//! random mutations of them.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| wikidex_fuzz::index_open(data));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    wikidex_fuzz::replay::main("index_open", wikidex_fuzz::index_open)
}
