//! pread vs mmap for serving dump bytes, side by side in one run.
//!
//! The server reads `/xml` ranges and `/wiki` fragments into an owned buffer
//! (a response body). This times that exact work both ways over the same
//! random page ranges of a real index: `pread(2)` into a fresh `Vec`, and a
//! copy out of a read-only memory map into a fresh `Vec`, alternating in
//! rounds so both see the same cache state.
//!
//! ```text
//! cargo run --release -p wikidex-benches --bin dump_reads -- INDEX_DIR DUMP [READS]
//! ```

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Instant;
use wikidex_indexer::Index;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(index), Some(dump)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: dump_reads INDEX_DIR DUMP [READS]");
        std::process::exit(2);
    };
    let reads: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(200_000);
    let index = Index::open(index.as_ref()).expect("open index");
    let file = File::open(dump).expect("open dump");
    // SAFETY: a benchmark over a dump nobody modifies while it runs.
    let map = unsafe { memmap2::Mmap::map(&file) }.expect("map dump");
    // Pages of 4-64 KB, as /xml is measured, picked by a fixed LCG.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut ranges = Vec::with_capacity(reads);
    while ranges.len() < reads {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let page = index.page((x >> 33) as u32 % index.pages() as u32);
        if (4096..=65536).contains(&page.len()) {
            ranges.push((page.start, page.len() as usize));
        }
    }
    let bytes: usize = ranges.iter().map(|r| r.1).sum();
    for &(start, len) in &ranges {
        std::hint::black_box(&map[start as usize..start as usize + len]);
    }
    println!("| round | pread µs/read | mmap copy µs/read | pread / mmap |");
    println!("|---|---|---|---|");
    for round in 1..=3 {
        let t0 = Instant::now();
        for &(start, len) in &ranges {
            let mut buf = vec![0u8; len];
            file.read_exact_at(&mut buf, start).expect("pread");
            std::hint::black_box(buf);
        }
        let pread = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        for &(start, len) in &ranges {
            let buf = map[start as usize..start as usize + len].to_vec();
            std::hint::black_box(buf);
        }
        let mmap = t0.elapsed().as_secs_f64();
        let us = |s: f64| s * 1e6 / reads as f64;
        println!("| {round} | {:.2} | {:.2} | {:.2}x |", us(pread), us(mmap), pread / mmap);
    }
    println!("\n{reads} reads, {:.1} KB mean", bytes as f64 / reads as f64 / 1000.0);
}
