//! The `/offsets` listing without HTTP: for every prefix in a file (one per
//! line, percent-encoded as the load kit's `prefixes.txt`), the first
//! `LIMIT` titles and their rows, as `Index::prefix` gives them to the
//! server. Run it under `perf stat -e instructions,cycles` to count what a
//! listing costs per prefix.
//!
//! ```text
//! cargo run --release -p wikidex-benches --bin prefix_walk -- INDEX_DIR PREFIXES [LIMIT] [PASSES]
//! ```

use std::time::Instant;
use wikidex_indexer::Index;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(index), Some(prefixes)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: prefix_walk INDEX_DIR PREFIXES [LIMIT] [PASSES]");
        std::process::exit(2);
    };
    let limit: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(10);
    let passes: usize = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(5);
    let index = Index::open(index.as_ref()).expect("open index");
    let prefixes = wikidex_benches::kit_prefixes(prefixes);
    let mut title = Vec::with_capacity(256);
    let (mut rows, mut bytes) = (0u64, 0u64);
    let t = Instant::now();
    for _ in 0..passes {
        for p in &prefixes {
            let mut listing = index.prefix(p.as_bytes(), None);
            let mut n = 0;
            while let Some(range) = listing.next_title(&mut title) {
                rows += range.len() as u64;
                bytes += title.len() as u64;
                n += range.len();
                if n >= limit {
                    break;
                }
            }
        }
    }
    let listings = (passes * prefixes.len()) as f64;
    println!(
        "{} listings, {:.2} rows and {:.1} title bytes each, {:.0} ns per listing",
        listings,
        rows as f64 / listings,
        bytes as f64 / listings,
        t.elapsed().as_nanos() as f64 / listings
    );
}
