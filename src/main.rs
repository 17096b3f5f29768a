//! The `wikidex` binary: parses the command line, runs one subcommand, and
//! is the only place that prints or picks an exit code.

mod cli;
mod multistream;
mod progress;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{Cli, Command, GenArgs, IndexArgs, ServeArgs, VerifyArgs};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use wikidex_indexer::{Builder, DumpIdentity, Index};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WIKIDEX_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let result = match cli.command {
        Command::Index(args) => index(args),
        Command::Serve(args) => serve(args),
        Command::Verify(args) => verify(args),
        Command::Gen(args) => generate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("wikidex: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn index(args: IndexArgs) -> Result<()> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("configure threads")?;
    }
    if args.no_json_rows {
        bail!(
            "--no-json-rows was removed: rows.jsf is no longer written unless asked for, so this is \
             what `wikidex index` does now. Drop the flag (--json-rows writes the rows)."
        );
    }
    if args.no_title_column {
        bail!(
            "--no-title-column was removed: titles.fc is now the index's only store of titles \
             (titles.fst is gone), so an index cannot leave it out. Drop the flag."
        );
    }
    let out = args.output.unwrap_or_else(|| Builder::default_out(&args.dump));
    let builder = Builder::new(&args.dump, out)
        .chunk_size((args.chunk_mib << 20) as usize)
        .folded(!args.no_folded)
        .json_rows(args.json_rows)
        .skip_invalid(args.skip_invalid)
        .store_level(args.store_level)
        .store_frame_bytes((args.store_frame_kib << 10) as usize);
    let summary = build_index(builder, &args.dump)?;
    let gbps = summary.dump_bytes as f64 / summary.seconds / 1e9;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "indexed {} pages ({} titles, {} redirects, {} to missing pages) from {} in {:.2}s ({:.2} GB/s, {:.0} pages/s; scan {:.2}s, sort {:.2}s, write {:.2}s)\nindex: {} ({} bytes, {:.1} bytes/page)",
        summary.pages,
        summary.titles,
        summary.redirects,
        summary.redirects_missing,
        args.dump.display(),
        summary.seconds,
        gbps,
        summary.pages as f64 / summary.seconds,
        summary.scan_seconds,
        summary.sort_seconds,
        summary.write_seconds,
        summary.index_dir.display(),
        summary.index_bytes,
        summary.index_bytes as f64 / summary.pages.max(1) as f64,
    )?;
    if let Some(store) = &summary.store {
        writeln!(
            stdout,
            "page store: {} ({} bytes, {:.2}x the compressed dump, {} frames; {} bytes of XML)",
            summary.index_dir.join(&store.file).display(),
            store.bytes,
            store.bytes as f64 / summary.dump_bytes.max(1) as f64,
            store.frames,
            summary.content_bytes
        )?;
    }
    if !summary.skipped.is_empty() {
        writeln!(
            stdout,
            "skipped {} invalid pages (--skip-invalid; also listed in {}):",
            summary.skipped.len(),
            summary.index_dir.join(wikidex_indexer::format::MANIFEST).display()
        )?;
        for page in &summary.skipped {
            writeln!(stdout, "  byte {}: {}", page.offset, page.reason)?;
        }
    }
    Ok(())
}

/// Runs `builder` (of `dump`) with a progress display and Ctrl-C handling.
fn build_index(builder: Builder, dump: &Path) -> Result<wikidex_indexer::BuildSummary> {
    let display = std::sync::Arc::new(progress::Display::new());
    let shown = display.clone();
    let builder = builder.progress(move |p| shown.update(p));
    let cancel = builder.cancel_flag();
    // A first Ctrl-C stops the build cleanly (temporary files removed); a
    // second one exits at once. Ignore failure: a handler may already exist.
    let _ = ctrlc::set_handler(move || {
        if cancel.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let result = builder.build();
    display.finish();
    result.with_context(|| format!("indexing {} failed", dump.display()))
}

fn verify(args: VerifyArgs) -> Result<()> {
    let started = Instant::now();
    let index = Index::open(&args.index)?;
    index.verify()?;
    let dump = args.dump.unwrap_or_else(|| PathBuf::from(&index.manifest().dump.path));
    let files = index.manifest().files.len();
    let dump_state = if let Some(store) = &index.manifest().store {
        // Pages are served from the store: the dump itself is not needed.
        format!("page store {} decompressed whole ({} frames)", store.file, store.frames)
    } else {
        let now = DumpIdentity::of_path(&dump)?;
        if let Some(diff) = index.manifest().dump.difference(&now) {
            bail!(
                "{}: the dump changed since it was indexed ({diff}); re-run `wikidex index`",
                dump.display()
            );
        }
        format!("dump {} unchanged", dump.display())
    };
    println!(
        "ok: {} pages, {files} files, every checksum matches, {dump_state} ({} ms)",
        index.pages(),
        started.elapsed().as_millis()
    );
    Ok(())
}

fn generate(args: GenArgs) -> Result<()> {
    use wikidex_synth::{SynthConfig, generate};
    let started = Instant::now();
    let out = &args.output;
    let bz2 = out.extension().is_some_and(|e| e == "bz2");
    let tmp = out.with_extension("tmp");
    let xml_tmp = out.with_extension("xml-tmp");
    let xml_path = if bz2 { &xml_tmp } else { &tmp };
    let file = std::fs::File::create(xml_path)
        .with_context(|| format!("{}: failed to create", xml_path.display()))?;
    let cfg = SynthConfig { pages: args.pages, seed: args.seed, text_percent: args.text_percent };
    let mut pages = Vec::new();
    let summary = generate(&cfg, &file, |p| {
        if bz2 {
            pages.push(multistream::PageRef { start: p.start, id: p.id, title: p.title.to_string() });
        }
    })
    .with_context(|| format!("{}: failed to write", xml_path.display()))?;
    file.sync_all().with_context(|| format!("{}: failed to fsync", xml_path.display()))?;
    let mut note = String::new();
    if bz2 {
        // SAFETY: our own temporary file, written and closed above, removed below.
        let xml = unsafe { memmap2::Mmap::map(&std::fs::File::open(&xml_tmp)?)? };
        let companion = wikidex_indexer::input::companion_name(out);
        let companion_tmp = companion.as_ref().map(|c| c.with_extension("tmp"));
        let bytes = multistream::write(&xml, &pages, &tmp, companion_tmp.as_deref())?;
        drop(xml);
        std::fs::remove_file(&xml_tmp).with_context(|| format!("{}: failed to remove", xml_tmp.display()))?;
        note = match (&companion, &companion_tmp) {
            (Some(c), Some(t)) => {
                std::fs::rename(t, c).with_context(|| format!("{}: failed to rename", c.display()))?;
                format!(" as multistream bz2 ({bytes} bytes; companion index {})", c.display())
            }
            _ => format!(
                " as multistream bz2 ({bytes} bytes; no companion index: name the file …-multistream.xml.bz2 for one)"
            ),
        };
    }
    std::fs::rename(&tmp, out).with_context(|| format!("{}: failed to rename", out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "wrote {} pages ({} redirects, {} bytes of XML) to {}{note} in {secs:.2}s ({:.0} MB/s)",
        summary.pages,
        summary.redirects,
        summary.bytes,
        out.display(),
        summary.bytes as f64 / secs / 1e6
    );
    Ok(())
}

/// The bundled sample, a real excerpt in Wikimedia's multistream layout
/// (data/README.md): from the working directory, else from the source tree
/// this binary was built from.
fn sample_dump() -> PathBuf {
    const SAMPLE: &str = "data/enwiki-sample-multistream.xml.bz2";
    let here = PathBuf::from(SAMPLE);
    if here.exists() { here } else { Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE) }
}

fn serve(args: ServeArgs) -> Result<()> {
    let started = Instant::now();
    if let Some(mode) = &args.dump_watch {
        bail!(
            "--dump-watch {mode} (WIKIDEX_DUMP_WATCH) was removed: the server now always checks the dump's \
             size and mtime before each read, as `fstat` did; the read lease it replaced saved a few per \
             cent (docs/BENCHMARKS.md, \"A read lease instead of an `fstat` per read\"). Drop the flag."
        );
    }
    let (index_dir, dump) = match (args.index, args.dump) {
        (Some(index), Some(dump)) => (index, dump),
        (Some(index), None) => {
            let recorded = Index::open(&index)?.manifest().dump.path.clone();
            (index, PathBuf::from(recorded))
        }
        (None, dump) => {
            let dump = dump.unwrap_or_else(sample_dump);
            let index = Builder::default_out(&dump);
            if let Some(reason) = needs_index(&index, &dump) {
                tracing::info!("indexing {} ({reason})", dump.display());
                build_index(Builder::new(&dump, &index), &dump)?;
            }
            (index, dump)
        }
    };
    let config = wikidex_server::Config {
        index_dir,
        dump,
        next: args.next_index.map(|index| {
            let dump = args.next_dump.unwrap_or_else(|| index.with_file_name("dump.xml"));
            (index, dump)
        }),
        bind: args.bind,
        workers: args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        access_log: args.access_log,
        max_limit: args.max_limit,
        max_range_bytes: args.max_range_bytes,
        max_connections: args.max_connections,
        request_timeout: Duration::from_secs(args.request_timeout),
        keep_alive: Duration::from_secs(args.keep_alive),
        drain: Duration::from_secs(args.drain_secs),
        verify: args.verify,
        store_cache_bytes: args.store_cache_mib << 20,
        max_age: Duration::from_secs(args.max_age),
    };
    config.validate()?;
    wikidex_server::run(config, started)?;
    Ok(())
}

/// Why the index at `index` must be (re)built for `dump`, if it must.
fn needs_index(index: &Path, dump: &Path) -> Option<String> {
    let opened = match Index::open(index) {
        Ok(opened) => opened,
        Err(_) if !index.exists() => return Some("no index yet".into()),
        Err(e) => return Some(format!("existing index unusable: {e}")),
    };
    match DumpIdentity::of_path(dump) {
        Ok(now) => opened.manifest().dump.difference(&now).map(|d| format!("dump changed: {d}")),
        Err(_) => None, // let the server report the unreadable dump
    }
}
