//! Benchmark helpers for wikidex (see `benches/*.sh`).

/// The prefixes of a load-kit file (`gen_inputs.py`'s `prefixes.txt`: one
/// percent-encoded path segment per line), decoded as the server decodes
/// `/offsets/{prefix}` (`_` is a space).
///
/// # Panics
/// If the file cannot be read or a line does not decode: the kit writes
/// only decodable lines.
pub fn kit_prefixes(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
        .lines()
        .map(|line| {
            wikidex_server::request::decode_path_title(line)
                .unwrap_or_else(|e| panic!("{path}: {line:?} does not decode: {e}"))
        })
        .collect()
}
