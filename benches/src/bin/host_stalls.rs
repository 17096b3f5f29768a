//! How long the machine itself takes a core away: a floor under any
//! server's tail latency on it.
//!
//! Spins on one core reading the monotonic clock and counts every gap
//! between two reads longer than 50 µs: time the core spent elsewhere
//! (the hypervisor running another guest, an interrupt, the kernel). No
//! server can answer during such a gap, so under a constant request rate a
//! gap of length `D` delays every request that arrives in its first
//! `D - L` by more than `L`. The share of time inside gaps beyond their
//! first `L` is then the least share of requests slower than `L` on this
//! core, whatever the server: if it is above 0.01 % for `L` = 5 ms, a
//! p99.99 of 5 ms cannot be measured here. Also prints the core's steal
//! time from `/proc/stat` over the same seconds.
//!
//! ```text
//! taskset -c 0 cargo run --release -p wikidex-benches --bin host_stalls -- [SECONDS]
//! ```

use std::time::{Duration, Instant};

/// Gaps shorter than this are the loop itself (a clock read, a branch).
const NOTICED: Duration = Duration::from_micros(50);
/// Table rows: gaps at least this long.
const BUCKETS_MS: [f64; 8] = [0.05, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0];
/// Delays whose least share of requests is printed.
const DELAYS_MS: [f64; 4] = [1.0, 2.0, 5.0, 10.0];

/// The core this thread last ran on (field 39 of `/proc/self/stat`).
fn current_cpu() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The command name (field 2) may hold spaces; count from its `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(39 - 3)?.parse().ok()
}

/// Steal time of `cpu` in clock ticks (the 8th number of its `/proc/stat` line).
fn steal_ticks(cpu: usize) -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.split(' ').next() == Some(&format!("cpu{cpu}")))?;
    line.split_whitespace().nth(8)?.parse().ok()
}

fn main() {
    let seconds: f64 = match std::env::args().nth(1).map(|s| s.parse()) {
        None => 60.0,
        Some(Ok(s)) if s > 0.0 => s,
        Some(_) => {
            eprintln!("usage: host_stalls [SECONDS]  (a positive number; default 60)");
            std::process::exit(2);
        }
    };
    let cpu = current_cpu();
    let steal_before = cpu.and_then(steal_ticks);
    let mut gaps: Vec<Duration> = Vec::new();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut last = start;
    while last < end {
        let now = Instant::now();
        if now - last > NOTICED {
            gaps.push(now - last);
        }
        last = now;
    }
    let total = last - start;
    let steal = cpu.zip(steal_before).and_then(|(c, before)| Some(steal_ticks(c)?.saturating_sub(before)));

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let where_ = cpu.map_or("an unknown core".to_string(), |c| format!("CPU {c}"));
    println!(
        "host_stalls: {:.1} s spinning on {where_}; every gap over {} µs between two clock reads counted",
        total.as_secs_f64(),
        NOTICED.as_micros()
    );
    if let Some(ticks) = steal {
        println!("steal time on that core over the run: {ticks} ticks (of 1/100 s)");
    }
    println!();
    println!("| gap at least | gaps | per minute | time inside them | share of the run |");
    println!("|---|---|---|---|---|");
    for floor in BUCKETS_MS {
        let inside: Vec<Duration> = gaps.iter().copied().filter(|g| ms(*g) >= floor).collect();
        let time: Duration = inside.iter().sum();
        println!(
            "| {floor} ms | {} | {:.1} | {:.1} ms | {:.4} % |",
            inside.len(),
            inside.len() as f64 * 60.0 / total.as_secs_f64(),
            ms(time),
            100.0 * time.as_secs_f64() / total.as_secs_f64()
        );
    }
    let longest = gaps.iter().max().copied().unwrap_or_default();
    println!();
    println!("longest gap: {:.2} ms", ms(longest));
    println!();
    println!("| delay L | least share of constant-rate requests delayed more than L by the gaps alone |");
    println!("|---|---|");
    for delay in DELAYS_MS {
        let beyond: f64 = gaps.iter().map(|g| (ms(*g) - delay).max(0.0)).sum();
        println!("| {delay} ms | {:.4} % |", 100.0 * beyond / ms(total));
    }
}
