//! Progress display for `wikidex index`: an indicatif bar on a terminal,
//! plain log lines (every 5 % or 10 s) otherwise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wikidex_indexer::{Phase, Progress};

/// Turns [`Progress`] callbacks into something a person can watch.
pub struct Display {
    bar: Option<ProgressBar>,
    plain: Mutex<(Instant, u64, Option<Phase>)>,
    started: Instant,
}

impl Display {
    /// A bar when stderr is a terminal, log lines otherwise.
    pub fn new() -> Display {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>8} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix("scanning");
            bar
        });
        Display { bar, plain: Mutex::new((Instant::now(), 0, None)), started: Instant::now() }
    }

    /// Shows one report.
    pub fn update(&self, p: Progress) {
        if let Some(bar) = &self.bar {
            match p.phase {
                Phase::Decompressing => {
                    bar.set_prefix("reading");
                    bar.set_length(p.total);
                    bar.set_position(p.done);
                    let note = if p.single_stream {
                        " (one bz2 stream: one core; the -multistream file indexes faster)"
                    } else {
                        ""
                    };
                    bar.set_message(format!(
                        "{} pages, {} of XML{note}",
                        p.pages,
                        indicatif::HumanBytes(p.scanned)
                    ));
                }
                Phase::Scanning => {
                    bar.set_length(p.total);
                    bar.set_position(p.done);
                    bar.set_message(format!("{} pages", p.pages));
                }
                Phase::Linking => {
                    bar.set_prefix("linking");
                    bar.set_length(p.total);
                    bar.set_position(p.done);
                    bar.set_message(format!("{} pages: counting links for the popularity score", p.pages));
                }
                Phase::Sorting | Phase::Writing => {
                    let name = if p.phase == Phase::Sorting { "sorting" } else { "writing" };
                    bar.set_prefix(name);
                    bar.set_message(format!("{} pages", p.pages));
                }
                _ => {}
            }
            return;
        }
        let mut last = self.plain.lock().expect("progress lock");
        let pct = (p.done * 100).checked_div(p.total).unwrap_or(100);
        let phase_changed = last.2 != Some(p.phase);
        if phase_changed || pct >= last.1 + 5 || last.0.elapsed() > Duration::from_secs(10) {
            let secs = self.started.elapsed().as_secs_f64();
            let rate = match p.phase {
                Phase::Scanning if secs > 0.0 => format!(", {:.2} GB/s", p.done as f64 / secs / 1e9),
                Phase::Decompressing if secs > 0.0 && p.done > 0 => {
                    let eta = (p.total.saturating_sub(p.done) as f64 / (p.done as f64 / secs)).round();
                    let note = if p.single_stream {
                        "; one bz2 stream, one core: the -multistream file indexes faster"
                    } else {
                        ""
                    };
                    format!(
                        ", {:.0} MB/s compressed, {:.2} GB of XML, ETA {eta:.0}s{note}",
                        p.done as f64 / secs / 1e6,
                        p.scanned as f64 / 1e9
                    )
                }
                _ => String::new(),
            };
            eprintln!("wikidex: {:?} {pct}% ({} pages{rate}, {secs:.1}s)", p.phase, p.pages);
            *last = (Instant::now(), pct, Some(p.phase));
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
