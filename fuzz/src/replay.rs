//! The stable-toolchain driver of every target: replays a corpus and, with
//! `--mutate N`, runs N random mutations of it (no coverage feedback, so much
//! weaker than libFuzzer, but it runs anywhere `cargo` does).
//!
//! ```text
//! cargo run --release --manifest-path fuzz/Cargo.toml --bin page -- [--mutate N] [--seed S] [PATH...]
//! ```
//!
//! PATHs are files or directories (read recursively); none means
//! `fuzz/seeds/NAME` plus `fuzz/corpus/NAME` if present. A failing input is
//! written to `fuzz/artifacts/NAME/crash-HASH` and the process exits with 1.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Tokens spliced in by the mutator: the vocabulary of every target.
const TOKENS: &[&[u8]] = &[
    b"<page>",
    b"</page>",
    b"<title>",
    b"</title>",
    b"<ns>",
    b"</ns>",
    b"<id>",
    b"</id>",
    b"<redirect title=\"",
    b"\" />",
    b"<revision>",
    b"</revision>",
    b"<text>",
    b"</text>",
    b"<mediawiki>",
    b"</mediawiki>",
    b"<siteinfo>",
    b"</siteinfo>",
    b"<case>first-letter</case>",
    b"&amp;",
    b"&lt;",
    b"&#x0;",
    b"&bogus;",
    b"bytes=",
    b"-",
    b",",
    b" ",
    b"\t",
    b"=",
    b"&",
    b"+",
    b"%",
    b"%00",
    b"%2F",
    b"%5F",
    b"%C3%A9",
    b"%FF",
    b"%E2%82",
    b"_",
    b"W/\"",
    b"\"",
    b"18446744073709551615",
    b"18446744073709551616",
    b"99999999999999999999999",
    b"0",
    b"-0",
    b"WIKIDEX\0",
    b"TFST",
    b"STRT",
    b"LENS",
    b"NSPC",
    b"RDIR",
    b"\xff\xff\xff\xff",
    b"\xfe\xff\xff\xff",
    b"limit=",
    b"after=",
    b"fields=ns,redirect,id",
    b"talk:",
    b"\xc3\x9f",
    b"\xef\xac\x81",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 => input.insert(rng.below(len + 1), rng.next() as u8),
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                input.drain(i..i + n);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let chunk = input[i..i + n].to_vec();
                let at = rng.below(input.len() + 1);
                input.splice(at..at, chunk);
            }
            4 | 5 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let at = rng.below(len + 1);
                input.splice(at..at, t.iter().copied());
            }
            6 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - i).min(256));
                    let at = rng.below(len + 1);
                    input.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            _ if len > 0 => {
                let i = rng.below(len);
                input[i] = [0u8, 0xff, b'<', b'>', b'%', b'-', b'9', b'/'][rng.below(8)];
            }
            _ => input.push(rng.next() as u8),
        }
    }
    input.truncate(1 << 16);
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> =
            std::fs::read_dir(path).into_iter().flatten().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            collect(&e, out);
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
}

fn save_crash(name: &str, data: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts").join(name);
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("crash-{:08x}", crc32fast::hash(data)));
    let _ = std::fs::write(&path, data);
    path
}

/// Runs `target` over the corpus named on the command line, then mutations.
pub fn main(name: &str, target: fn(&[u8])) -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut paths = Vec::new();
    let mut mutations = 0u64;
    let mut seed = 0x5EED_u64;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mutate" => mutations = args.next().and_then(|n| n.parse().ok()).expect("--mutate N"),
            "--seed" => seed = args.next().and_then(|n| n.parse().ok()).expect("--seed S"),
            _ => paths.push(PathBuf::from(a)),
        }
    }
    if paths.is_empty() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        paths.push(root.join("seeds").join(name));
        paths.push(root.join("corpus").join(name));
    }
    let mut files = Vec::new();
    for p in &paths {
        collect(p, &mut files);
    }
    let corpus: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
    // Keep panics quiet while running; report the input ourselves.
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    let run = |data: &[u8]| catch_unwind(AssertUnwindSafe(|| target(data))).is_ok();
    let started = Instant::now();
    for (file, data) in files.iter().zip(&corpus) {
        if !run(data) {
            eprintln!("{name}: FAILED on {}", file.display());
            return ExitCode::FAILURE;
        }
    }
    let mut rng = Rng(seed | 1);
    let mut input = Vec::new();
    for i in 0..mutations {
        if i % 64 == 0 || input.is_empty() {
            input = corpus.get(rng.below(corpus.len())).cloned().unwrap_or_default();
        }
        mutate(&mut rng, &corpus, &mut input);
        if !run(&input) {
            let saved = save_crash(name, &input);
            eprintln!("{name}: FAILED after {i} mutations; input saved to {}", saved.display());
            return ExitCode::FAILURE;
        }
    }
    eprintln!(
        "{name}: ok: {} corpus inputs, {mutations} mutations (seed {seed}) in {:.1}s",
        corpus.len(),
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
