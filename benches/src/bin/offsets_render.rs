//! The whole `/offsets` answer without HTTP: for every prefix in a file (one
//! per line, percent-encoded as the load kit's `prefixes.txt`), the JSON body
//! the handler renders with `limit=LIMIT`: the listing (as `prefix_walk`)
//! plus each row's columns and its JSON. Run it under `perf stat -e
//! instructions,cycles` to see what a request costs beyond the framework.
//!
//! ```text
//! cargo run --release -p wikidex-benches --bin offsets_render -- INDEX_DIR DUMP PREFIXES [LIMIT] [PASSES]
//! ```

use std::time::Instant;
use wikidex_server::config::{Config, VerifyMode};
use wikidex_server::handlers::offsets::{MatchMode, OffsetsQuery, Order, render};
use wikidex_server::state::AppState;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(index), Some(dump), Some(prefixes)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: offsets_render INDEX_DIR DUMP PREFIXES [LIMIT] [PASSES]");
        std::process::exit(2);
    };
    let limit: usize = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(10);
    let passes: usize = args.get(5).and_then(|n| n.parse().ok()).unwrap_or(5);
    let mut config = Config::new(index, dump);
    config.verify = VerifyMode::Off;
    let state = AppState::load(config).expect("open index and dump");
    let queries: Vec<OffsetsQuery> = wikidex_benches::kit_prefixes(prefixes)
        .into_iter()
        .map(|prefix| OffsetsQuery {
            prefix,
            limit,
            after: None,
            fields: Vec::new(),
            mode: MatchMode::Exact,
            order: Order::Title,
            namespaces: None,
            resolve: false,
            distinct: false,
        })
        .collect();
    let mut bytes = 0u64;
    let t = Instant::now();
    for _ in 0..passes {
        for q in &queries {
            bytes += render(&state, q).expect("render").len() as u64;
        }
    }
    let answers = (passes * queries.len()) as f64;
    println!(
        "{} answers, {:.0} JSON bytes each, {:.0} ns per answer",
        answers,
        bytes as f64 / answers,
        t.elapsed().as_nanos() as f64 / answers
    );
}
