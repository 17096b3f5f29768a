//! Decoding a `.bz2` dump on all cores, delivering the XML in file order.
//!
//! A Wikimedia multistream dump is thousands of bz2 streams back to back.
//! [`find_streams`] lists every offset that looks like a stream start
//! (`BZh1`…`BZh9` followed by the block or end-of-stream magic); the span
//! from one such candidate to the next is a *segment*. [`decode`] decodes
//! segments on the rayon pool, several at once, and hands their output to a
//! sink on the calling thread strictly in file order, so the sink's work
//! (scanning, compressing) overlaps with decoding of what follows.
//!
//! Soundness does not depend on the candidates being right. A segment's
//! decoding is accepted only when the segment before it ended exactly where
//! it starts, and a segment is decoded stream after stream until a stream
//! ends exactly at a later candidate or at the end of the file: a candidate
//! that was really inside compressed data (astronomically rare, but
//! possible) is crossed and the segments on both sides are decoded as one,
//! and a stream missing from the candidates (an incomplete companion index)
//! is decoded after the one before it.
//!
//! Memory is bounded: the window of segments in flight is limited by count
//! and by an estimate of their decoded bytes, and a segment larger than
//! [`DecodeOptions::stream_threshold`] (a single-stream `.bz2` is one
//! 20 GB segment) is decoded on its own thread into pieces of
//! [`DecodeOptions::piece_size`] handed over through a channel of one, so
//! it never sits in memory whole. Decoding never blocks a rayon worker on
//! the sink, so a sink that itself uses rayon cannot deadlock it.

use bzip2::{Decompress, Status};
use memchr::memmem;
use rayon::prelude::*;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::thread::ScopedJoinHandle;
use std::time::Duration;

/// The bytes after `BZh1`…`BZh9` that open a block (π in BCD).
const BLOCK_MAGIC: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
/// The bytes after `BZh1`…`BZh9` that end a stream (√π); right after the
/// header, an empty stream.
const EOS_MAGIC: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
/// Length of a stream header: `BZh`, the block-size digit, a magic.
const HEADER_LEN: usize = 10;
/// Decoded bytes produced per call into the decoder; between calls the
/// stop flags are checked.
const STEP: usize = 256 * 1024;
/// Assumed decoded/compressed ratio before any segment has been decoded
/// (enwiki is about 4.3).
const INITIAL_RATIO: f64 = 5.0;

/// Default for [`DecodeOptions::stream_threshold`], and the segment size
/// above which [`is_multistream`] calls a file single-stream.
pub const DEFAULT_STREAM_THRESHOLD: usize = 32 << 20;

/// A piece of decoded output, delivered in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Decoded bytes, following the previous piece's directly. May be
    /// empty (an empty stream).
    pub data: Vec<u8>,
    /// Offset in the `.bz2` up to which the input has been decoded once
    /// this piece is delivered, for progress: non-decreasing, and the
    /// file's length at the last piece.
    pub compressed_end: u64,
}

/// How [`decode`] finished without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every stream was decoded and delivered.
    Complete,
    /// The cancel flag was set; delivery stopped early.
    Cancelled,
}

/// Knobs of [`decode`].
#[derive(Debug, Clone)]
pub struct DecodeOptions<'a> {
    /// Decoded bytes in flight (decoding or waiting for the sink), roughly;
    /// at least one segment is always in flight.
    pub budget: usize,
    /// Segments in flight at most.
    pub max_segments: usize,
    /// Segments longer than this many compressed bytes are decoded on their
    /// own thread, streaming, instead of into one buffer on the pool.
    pub stream_threshold: usize,
    /// Size of the pieces a streamed segment is delivered in.
    pub piece_size: usize,
    /// Set to stop early; [`decode`] then returns [`Outcome::Cancelled`].
    pub cancel: &'a AtomicBool,
}

impl<'a> DecodeOptions<'a> {
    /// The defaults: 256 MiB in flight, four segments per rayon thread
    /// (at least eight), streaming above 32 MiB in 8 MiB pieces.
    pub fn new(cancel: &'a AtomicBool) -> DecodeOptions<'a> {
        DecodeOptions {
            budget: 256 << 20,
            max_segments: (4 * rayon::current_num_threads()).max(8),
            stream_threshold: DEFAULT_STREAM_THRESHOLD,
            piece_size: 8 << 20,
            cancel,
        }
    }
}

/// Why a `.bz2` could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError<E = Infallible> {
    /// The compressed data is damaged.
    #[error(
        "bz2 data is corrupt at compressed byte {offset} (in the stream starting at byte {stream_start}): {message}; the download is damaged, fetch it again"
    )]
    Corrupt {
        /// Offset in the `.bz2` where the damage was detected (a block's
        /// checksum is checked at its end, so this can be past the damage).
        offset: u64,
        /// Offset of the bz2 stream being decoded.
        stream_start: u64,
        /// What the decoder found.
        message: String,
    },
    /// The file ends inside a stream.
    #[error(
        "the .bz2 file ends in the middle of a stream at byte {offset}: truncated download? Fetch it again"
    )]
    Truncated {
        /// The file's length.
        offset: u64,
    },
    /// Bytes after the last stream are not bz2 data.
    #[error(
        "{len} bytes after the last bz2 stream, from byte {offset} to the end, are not bz2 data: the file was damaged or appended to; fetch it again"
    )]
    TrailingGarbage {
        /// Where the last stream ends.
        offset: u64,
        /// How many bytes follow it.
        len: u64,
    },
    /// The decoder could not allocate its buffers.
    #[error("the bz2 decoder ran out of memory at compressed byte {offset}")]
    OutOfMemory {
        /// Offset in the `.bz2` being decoded.
        offset: u64,
    },
    /// The sink returned an error; decoding stopped.
    #[error(transparent)]
    Sink(E),
}

impl<E> DecodeError<E> {
    /// Splits off the sink's error: `Ok` with it for [`DecodeError::Sink`],
    /// `Err` with the decoding error otherwise.
    pub fn into_sink(self) -> Result<E, DecodeError> {
        Err(match self {
            DecodeError::Sink(e) => return Ok(e),
            DecodeError::Corrupt { offset, stream_start, message } => {
                DecodeError::Corrupt { offset, stream_start, message }
            }
            DecodeError::Truncated { offset } => DecodeError::Truncated { offset },
            DecodeError::TrailingGarbage { offset, len } => DecodeError::TrailingGarbage { offset, len },
            DecodeError::OutOfMemory { offset } => DecodeError::OutOfMemory { offset },
        })
    }
}

/// What a position in a file holds, as far as stream headers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// `BZh1`…`BZh9` and the block or end-of-stream magic.
    Valid,
    /// A proper prefix of a valid header that runs into the end of the data.
    Partial,
    /// Anything else.
    Invalid,
}

/// What `data[at..]` starts with.
pub(crate) fn header_at(data: &[u8], at: usize) -> Header {
    let rest = data.get(at..).unwrap_or_default();
    let n = rest.len().min(HEADER_LEN);
    let fits = |magic: &[u8; 6]| {
        let mut want = *b"BZh0\0\0\0\0\0\0";
        want[4..].copy_from_slice(magic);
        rest[..n]
            .iter()
            .zip(&want)
            .enumerate()
            .all(|(i, (&got, &w))| if i == 3 { (b'1'..=b'9').contains(&got) } else { got == w })
    };
    if !fits(&BLOCK_MAGIC) && !fits(&EOS_MAGIC) {
        Header::Invalid
    } else if n == HEADER_LEN {
        Header::Valid
    } else {
        Header::Partial
    }
}

/// Whether a bz2 stream header (`BZh1`…`BZh9` and the block or
/// end-of-stream magic) starts at `data[at]`.
pub fn is_stream_start(data: &[u8], at: usize) -> bool {
    header_at(data, at) == Header::Valid
}

/// Candidate stream starts of a `.bz2`, ascending: offset 0 (always, so
/// that a file not starting with a stream is reported at byte 0), then
/// every offset where a stream header ([`is_stream_start`]) begins. A
/// candidate may lie inside compressed data; [`decode`] copes.
///
/// Scans for `BZh` with `memmem`, in parallel; this reads the whole file
/// once, which a companion index ([`check_starts`](super::check_starts))
/// spares.
pub fn find_streams(data: &[u8]) -> Vec<usize> {
    const CHUNK: usize = 16 << 20;
    let found: Vec<Vec<usize>> = (0..data.len().div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| {
            let from = k * CHUNK;
            // A match must start in [from, from + CHUNK): let the window run
            // two bytes into the next chunk.
            let to = (from + CHUNK + 2).min(data.len());
            memmem::find_iter(&data[from..to], b"BZh")
                .map(|i| from + i)
                .filter(|&at| at > 0 && is_stream_start(data, at))
                .collect()
        })
        .collect();
    let mut starts = vec![0];
    starts.extend(found.into_iter().flatten());
    starts
}

/// Whether [`decode`] will decode the file in parallel with the default
/// options: it has several streams and none longer than
/// [`DEFAULT_STREAM_THRESHOLD`]. A single-stream `.bz2` decodes on one
/// core; the `-multistream` download of the same dump indexes several
/// times faster.
pub fn is_multistream(starts: &[usize], len: usize) -> bool {
    let starts = normalize(starts, len);
    starts.len() > 1
        && starts.iter().zip(starts[1..].iter().chain([&len])).all(|(s, e)| e - s <= DEFAULT_STREAM_THRESHOLD)
}

/// Decodes the `.bz2` in `data` and hands its output to `sink`, in order.
///
/// `starts` are candidate stream starts, from [`find_streams`] or
/// [`check_starts`](super::check_starts); they are sorted, deduplicated
/// and completed with 0 here, and offsets past the end are ignored.
/// Segments are decoded on the rayon pool; `sink` runs on the calling
/// thread while later segments decode. Returns when every stream has been
/// delivered, the sink fails ([`DecodeError::Sink`], nothing is delivered
/// after it), the data is bad, or [`DecodeOptions::cancel`] is set
/// ([`Outcome::Cancelled`]). Work in flight is abandoned promptly in the
/// last three cases.
///
/// Call it from outside the rayon pool if you can: called on a pool
/// thread, it keeps that thread busy running pool jobs while it waits.
pub fn decode<E>(
    data: &[u8],
    starts: &[usize],
    opts: &DecodeOptions<'_>,
    mut sink: impl FnMut(Decoded) -> Result<(), E>,
) -> Result<Outcome, DecodeError<E>> {
    if data.is_empty() {
        return Err(DecodeError::Truncated { offset: 0 });
    }
    let starts = normalize(starts, data.len());
    let starts = &starts[..];
    let piece = opts.piece_size.max(1);
    let stop_flag = AtomicBool::new(false);
    let stop = Stop { cancel: opts.cancel, stop: &stop_flag };
    let (tx, rx) = mpsc::channel::<TaskDone>();
    rayon::in_place_scope(|pool| {
        std::thread::scope(|threads| {
            // Set the stop flag however this closure ends (a sink panic
            // included), so that tasks and threads still running quit.
            let _stop_on_exit = SetOnDrop(&stop_flag);
            let mut w = Window {
                data,
                starts,
                opts,
                window: VecDeque::new(),
                next_spawn: 0,
                streams: 0,
                ratio: (0, 0),
            };
            let spawn = |seg: usize, est: usize| {
                if starts_len(starts, seg, data.len()) > opts.stream_threshold {
                    return start_stream(threads, data, starts, seg, piece, stop, est);
                }
                let (s, e) = (starts[seg], starts.get(seg + 1).copied().unwrap_or(data.len()));
                let limits = Limits {
                    max_in: opts.stream_threshold.max(e - s),
                    max_out: (32 * (e - s)).saturating_add(1 << 20).min(opts.budget.max(1 << 20)),
                    capacity: est.min(opts.budget),
                };
                let tx: Sender<TaskDone> = tx.clone();
                pool.spawn(move |_| {
                    let r = panic::catch_unwind(AssertUnwindSafe(|| {
                        let mut r = run(data, starts, seg, limits, usize::MAX, stop, &mut |_, _| true);
                        if let Ok(end) = &mut r {
                            // The estimate was high: give back the rest while it waits.
                            end.tail.shrink_to_fit();
                        }
                        r
                    }));
                    let _ = tx.send((seg, r));
                });
                Slot { seg, est, state: SlotState::Pending }
            };
            w.deliver(&rx, spawn, &mut sink, |seg| {
                start_stream(threads, data, starts, seg, piece, stop, 3 * piece)
            })
        })
    })
}

fn starts_len(starts: &[usize], seg: usize, len: usize) -> usize {
    starts.get(seg + 1).copied().unwrap_or(len) - starts[seg]
}

/// Starts a thread streaming segment `seg` and everything it merges with.
fn start_stream<'scope, 'env>(
    threads: &'scope std::thread::Scope<'scope, 'env>,
    data: &'env [u8],
    starts: &'env [usize],
    seg: usize,
    piece: usize,
    stop: Stop<'env>,
    est: usize,
) -> Slot<'scope> {
    let (tx, rx) = mpsc::sync_channel::<StreamMsg>(1);
    let handle = threads.spawn(move || stream_segment(data, starts, seg, piece, stop, &tx));
    Slot { seg, est, state: SlotState::Streaming(rx, handle) }
}

fn stream_segment(
    data: &[u8],
    starts: &[usize],
    seg: usize,
    piece: usize,
    stop: Stop<'_>,
    tx: &SyncSender<StreamMsg>,
) {
    // A piece overshoots `piece` by less than one step.
    let limits = Limits { max_in: usize::MAX, max_out: usize::MAX, capacity: piece.saturating_add(STEP) };
    let mut emit = |data: Vec<u8>, end: usize| {
        tx.send(StreamMsg::Piece(Decoded { data, compressed_end: end as u64 })).is_ok()
    };
    let r = run(data, starts, seg, limits, piece, stop, &mut emit);
    let _ = tx.send(StreamMsg::End(r));
}

/// Sorted, deduplicated candidates below `len`, starting with 0.
fn normalize(starts: &[usize], len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = std::iter::once(0).chain(starts.iter().copied().filter(|&s| s < len)).collect();
    if !v.is_sorted() {
        v.sort_unstable();
    }
    v.dedup();
    v
}

/// The two flags a decoding task obeys.
#[derive(Clone, Copy)]
struct Stop<'a> {
    /// The caller's cancel flag.
    cancel: &'a AtomicBool,
    /// Set when [`decode`] returns, so abandoned tasks quit.
    stop: &'a AtomicBool,
}

impl Stop<'_> {
    fn is_set(&self) -> bool {
        self.cancel.load(Ordering::Relaxed) || self.stop.load(Ordering::Relaxed)
    }
}

struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A data error, reported only if the segment it came from is reached.
#[derive(Debug)]
enum Fault {
    Corrupt { offset: usize, stream_start: usize, message: String },
    Truncated { offset: usize },
    Trailing { offset: usize, len: usize },
    OutOfMemory { offset: usize },
}

impl<E> From<Fault> for DecodeError<E> {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Corrupt { offset, stream_start, message } => {
                DecodeError::Corrupt { offset: offset as u64, stream_start: stream_start as u64, message }
            }
            Fault::Truncated { offset } => DecodeError::Truncated { offset: offset as u64 },
            Fault::Trailing { offset, len } => {
                DecodeError::TrailingGarbage { offset: offset as u64, len: len as u64 }
            }
            Fault::OutOfMemory { offset } => DecodeError::OutOfMemory { offset: offset as u64 },
        }
    }
}

/// Why a run stopped without reaching the end of a stream.
#[derive(Debug)]
enum RunError {
    /// The data is bad (or the run started at a false candidate).
    Fault(Fault),
    /// A pool task outgrew its [`Limits`]; the segment is streamed instead.
    Overrun,
    /// A stop flag was set, or the receiver of the pieces is gone.
    Stopped,
}

impl From<Fault> for RunError {
    fn from(f: Fault) -> Self {
        RunError::Fault(f)
    }
}

/// Where a run ended.
#[derive(Debug)]
struct RunEnd {
    /// Decoded bytes not yet emitted.
    tail: Vec<u8>,
    /// The offset where the last stream decoded ends: a candidate or the
    /// end of the file.
    end: usize,
    /// Index of the candidate at `end` (the number of candidates at the
    /// end of the file): the next segment to deliver.
    next: usize,
}

/// Bounds on a pool task, past which it gives up with [`RunError::Overrun`].
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Compressed bytes from the segment's start.
    max_in: usize,
    /// Decoded bytes.
    max_out: usize,
    /// Initial capacity of the output buffer.
    capacity: usize,
}

/// Decodes from candidate `starts[first]`, stream after stream, until a
/// stream ends exactly at a later candidate or at the end of `data`.
///
/// Input is offered up to the next candidate only; a stream that needs
/// more crosses it (it was a false candidate). Output is handed to `emit`
/// (with the compressed offset reached) whenever `piece` bytes are
/// buffered; `emit` returning false stops the run.
fn run(
    data: &[u8],
    starts: &[usize],
    first: usize,
    limits: Limits,
    piece: usize,
    stop: Stop<'_>,
    emit: &mut dyn FnMut(Vec<u8>, usize) -> bool,
) -> Result<RunEnd, RunError> {
    let len = data.len();
    let begin = starts[first];
    let mut next = first + 1;
    let mut bound = starts.get(next).copied().unwrap_or(len);
    check_header(data, begin, next == starts.len())?;
    let mut stream_start = begin;
    let mut dec = Decompress::new(false);
    let mut pos = begin;
    let mut out = Vec::with_capacity(limits.capacity);
    let mut scratch = vec![0u8; STEP];
    loop {
        if stop.is_set() {
            return Err(RunError::Stopped);
        }
        let (in0, out0) = (dec.total_in(), dec.total_out());
        let status = dec.decompress(&data[pos..bound], &mut scratch);
        let produced = (dec.total_out() - out0) as usize;
        pos = stream_start + dec.total_in() as usize;
        let status = status.map_err(|e| Fault::Corrupt {
            offset: pos,
            stream_start,
            message: match e {
                bzip2::Error::DataMagic => "not a bz2 stream header".to_string(),
                bzip2::Error::Data => "invalid data or checksum mismatch".to_string(),
                other => other.to_string(),
            },
        })?;
        out.extend_from_slice(&scratch[..produced]);
        if out.len() > limits.max_out {
            return Err(RunError::Overrun);
        }
        if out.len() >= piece && !emit(std::mem::replace(&mut out, Vec::with_capacity(limits.capacity)), pos)
        {
            return Err(RunError::Stopped);
        }
        match status {
            Status::StreamEnd if pos == bound => return Ok(RunEnd { tail: out, end: pos, next }),
            Status::StreamEnd => {
                // The stream ended before the next candidate: another stream
                // must follow right here.
                check_header(data, pos, bound == len)?;
                stream_start = pos;
                dec = Decompress::new(false);
            }
            Status::MemNeeded => return Err(Fault::OutOfMemory { offset: pos }.into()),
            _ if produced > 0 || dec.total_in() > in0 => {}
            _ if pos < bound => {
                return Err(Fault::Corrupt {
                    offset: pos,
                    stream_start,
                    message: "the decoder stopped making progress".into(),
                }
                .into());
            }
            _ if bound == len => return Err(Fault::Truncated { offset: len }.into()),
            _ => {
                // Out of input at a candidate mid-stream: it was false.
                next += 1;
                bound = starts.get(next).copied().unwrap_or(len);
                if bound - begin > limits.max_in {
                    return Err(RunError::Overrun);
                }
            }
        }
    }
}

/// Checks that a stream starts at `at`, the start of a run or where a
/// stream ended; `last` says no candidate follows `at`.
fn check_header(data: &[u8], at: usize, last: bool) -> Result<(), Fault> {
    match header_at(data, at) {
        Header::Valid => Ok(()),
        Header::Partial => Err(Fault::Truncated { offset: data.len() }),
        Header::Invalid if at == 0 => Err(Fault::Corrupt {
            offset: 0,
            stream_start: 0,
            message: "the file does not start with a bz2 stream header (`BZh1`…`BZh9`)".into(),
        }),
        Header::Invalid if last => Err(Fault::Trailing { offset: at, len: data.len() - at }),
        Header::Invalid => Err(Fault::Corrupt {
            offset: at,
            stream_start: at,
            message: "a stream ends here, and what follows is not the start of another".into(),
        }),
    }
}

/// A pool task's result: its segment and its run's outcome (or panic).
type TaskDone = (usize, std::thread::Result<Result<RunEnd, RunError>>);

/// What a streaming thread sends.
enum StreamMsg {
    Piece(Decoded),
    End(Result<RunEnd, RunError>),
}

/// A segment in flight.
struct Slot<'scope> {
    seg: usize,
    /// Estimated decoded bytes it will hold.
    est: usize,
    state: SlotState<'scope>,
}

enum SlotState<'scope> {
    /// A pool task is decoding it.
    Pending,
    /// Decoded, waiting for its turn.
    Ready(Result<RunEnd, RunError>),
    /// A thread is streaming it.
    Streaming(Receiver<StreamMsg>, ScopedJoinHandle<'scope, ()>),
}

impl Slot<'_> {
    fn cost(&self) -> usize {
        match &self.state {
            SlotState::Ready(Ok(r)) => r.tail.capacity(),
            SlotState::Ready(Err(_)) => 0,
            _ => self.est,
        }
    }
}

/// The segments in flight, in file order, and what it takes to refill them.
struct Window<'a, 'o, 'scope> {
    data: &'a [u8],
    starts: &'a [usize],
    opts: &'a DecodeOptions<'o>,
    /// Slots for segments `window[0].seg ..`, consecutive.
    window: VecDeque<Slot<'scope>>,
    /// The next segment to start decoding.
    next_spawn: usize,
    /// Streaming threads in the window.
    streams: usize,
    /// Compressed and decoded bytes of the pool tasks finished so far.
    ratio: (u64, u64),
}

impl<'scope> Window<'_, '_, 'scope> {
    /// The consumer loop: keeps the window full and delivers its front.
    fn deliver<E>(
        &mut self,
        rx: &Receiver<TaskDone>,
        mut spawn: impl FnMut(usize, usize) -> Slot<'scope>,
        sink: &mut impl FnMut(Decoded) -> Result<(), E>,
        mut stream: impl FnMut(usize) -> Slot<'scope>,
    ) -> Result<Outcome, DecodeError<E>> {
        let n = self.starts.len();
        let mut next = 0; // the next segment to deliver
        loop {
            if self.opts.cancel.load(Ordering::Relaxed) {
                return Ok(Outcome::Cancelled);
            }
            if next >= n {
                return Ok(Outcome::Complete);
            }
            self.top_up(&mut spawn);
            let Some(front) = self.window.front_mut() else { unreachable!("top_up fills an empty window") };
            let end = match &mut front.state {
                SlotState::Pending => {
                    let (seg, r) = wait(rx);
                    let r = r.unwrap_or_else(|p| panic::resume_unwind(p));
                    if let Ok(e) = &r {
                        self.ratio.0 += (e.end - self.starts[seg]) as u64;
                        self.ratio.1 += e.tail.len() as u64;
                    }
                    if let Some(slot) = seg.checked_sub(next).and_then(|k| self.window.get_mut(k)) {
                        slot.state = SlotState::Ready(r);
                    }
                    continue;
                }
                SlotState::Ready(r) => match std::mem::replace(r, Err(RunError::Stopped)) {
                    Ok(end) => end,
                    Err(RunError::Overrun) => {
                        let seg = front.seg;
                        *front = stream(seg);
                        self.streams += 1;
                        continue;
                    }
                    Err(RunError::Fault(f)) => return Err(f.into()),
                    Err(RunError::Stopped) => return Ok(Outcome::Cancelled),
                },
                SlotState::Streaming(prx, _) => match prx.recv() {
                    Ok(StreamMsg::Piece(piece)) => {
                        sink(piece).map_err(DecodeError::Sink)?;
                        continue;
                    }
                    Ok(StreamMsg::End(Ok(end))) => end,
                    Ok(StreamMsg::End(Err(RunError::Fault(f)))) => return Err(f.into()),
                    Ok(StreamMsg::End(Err(_))) => return Ok(Outcome::Cancelled),
                    Err(_) => {
                        // The thread is gone without a word: it panicked.
                        let Some(Slot { state: SlotState::Streaming(_, handle), .. }) =
                            self.window.pop_front()
                        else {
                            unreachable!()
                        };
                        match handle.join() {
                            Err(p) => panic::resume_unwind(p),
                            Ok(()) => unreachable!("a streaming thread always sends its end"),
                        }
                    }
                },
            };
            sink(Decoded { data: end.tail, compressed_end: end.end as u64 }).map_err(DecodeError::Sink)?;
            // Segments up to `end.next` were decoded as part of this one.
            next = end.next;
            while self.window.front().is_some_and(|s| s.seg < next) {
                if let Some(Slot { state: SlotState::Streaming(..), .. }) = self.window.pop_front() {
                    self.streams -= 1;
                }
            }
            self.next_spawn = self.next_spawn.max(next);
        }
    }

    /// Starts segments while the window has room.
    fn top_up(&mut self, spawn: &mut impl FnMut(usize, usize) -> Slot<'scope>) {
        let len = self.data.len();
        let threads = rayon::current_num_threads().max(1);
        while self.next_spawn < self.starts.len() && self.window.len() < self.opts.max_segments.max(1) {
            let seg = self.next_spawn;
            let clen = starts_len(self.starts, seg, len);
            let big = clen > self.opts.stream_threshold;
            let est = if big {
                3 * self.opts.piece_size.max(1)
            } else {
                let (cin, cout) = self.ratio;
                let ratio = if cin == 0 { INITIAL_RATIO } else { cout as f64 / cin as f64 };
                (clen as f64 * ratio) as usize
            };
            let used: usize = self.window.iter().map(Slot::cost).sum();
            if !self.window.is_empty() && (used + est > self.opts.budget || (big && self.streams >= threads))
            {
                break;
            }
            self.window.push_back(spawn(seg, est));
            self.streams += usize::from(big);
            self.next_spawn += 1;
        }
    }
}

/// Waits for a pool task to finish. On a pool thread, runs pool jobs
/// meanwhile instead of blocking the thread.
fn wait(rx: &Receiver<TaskDone>) -> TaskDone {
    loop {
        if rayon::current_thread_index().is_none()
            && let Ok(m) = rx.recv()
        {
            return m;
        }
        match rx.try_recv() {
            Ok(m) => return m,
            Err(TryRecvError::Disconnected) => unreachable!("the window holds a sender"),
            Err(TryRecvError::Empty) => {}
        }
        if rayon::yield_now() != Some(rayon::Yield::Executed)
            && let Ok(m) = rx.recv_timeout(Duration::from_millis(1))
        {
            return m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::tests::{reference, sample};
    use bzip2::Compression;
    use bzip2::write::BzEncoder;
    use std::io::Write;
    use std::sync::atomic::AtomicUsize;

    const MULTI: &str = "enwiki-sample-multistream.xml.bz2";
    const SINGLE: &str = "enwiki-sample.xml.bz2";
    const MULTI_STARTS: [usize; 5] = [0, 638, 575005, 1617601, 1699951];

    static NEVER: AtomicBool = AtomicBool::new(false);

    fn opts() -> DecodeOptions<'static> {
        DecodeOptions::new(&NEVER)
    }

    /// Decodes and checks the delivery invariants; returns the output and
    /// the number of pieces.
    fn decode_all(
        data: &[u8],
        starts: &[usize],
        opts: &DecodeOptions<'_>,
    ) -> Result<(Vec<u8>, usize), DecodeError> {
        let mut out = Vec::new();
        let mut ends = Vec::new();
        let r = decode(data, starts, opts, |d| {
            out.extend_from_slice(&d.data);
            ends.push(d.compressed_end);
            Ok::<(), Infallible>(())
        })?;
        assert_eq!(r, Outcome::Complete);
        assert!(ends.is_sorted(), "{ends:?}");
        assert_eq!(ends.last(), Some(&(data.len() as u64)));
        Ok((out, ends.len()))
    }

    fn compress(plain: &[u8], level: u32) -> Vec<u8> {
        let mut e = BzEncoder::new(Vec::new(), Compression::new(level));
        e.write_all(plain).unwrap();
        e.finish().unwrap()
    }

    /// Pseudo-random words, compressible like text.
    fn text(seed: u64, len: usize) -> Vec<u8> {
        const WORDS: [&str; 12] = [
            "page",
            "title",
            "the",
            "of",
            "Wikipedia",
            "revision",
            "&amp;",
            "[[link]]",
            "{{cite}}",
            "1987",
            "ns",
            "\n",
        ];
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            out.extend_from_slice(WORDS[(x >> 33) as usize % WORDS.len()].as_bytes());
            out.push(b' ');
        }
        out.truncate(len);
        out
    }

    /// A multistream file of `n` streams: (file, stream starts, plain text).
    /// The third stream's text holds a stream header, which appears in the
    /// file only compressed.
    fn generated(n: usize) -> (Vec<u8>, Vec<usize>, Vec<u8>) {
        let (mut file, mut starts, mut plain) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let mut part = text(i as u64, 20_000 + 37_000 * (i % 4));
            if i == 2 {
                part.splice(100..100, b"BZh91AY&SY".iter().copied());
            }
            starts.push(file.len());
            file.extend_from_slice(&compress(&part, 1 + (i % 9) as u32));
            plain.extend_from_slice(&part);
        }
        (file, starts, plain)
    }

    #[test]
    fn finds_the_streams_of_the_samples() {
        let multi = sample(MULTI);
        assert_eq!(find_streams(&multi), MULTI_STARTS);
        assert!(is_multistream(&MULTI_STARTS, multi.len()));
        let single = sample(SINGLE);
        assert_eq!(find_streams(&single), [0]);
        assert!(!is_multistream(&[0], single.len()));
        assert_eq!(find_streams(b""), [0]);
        assert_eq!(find_streams(b"xxBZh91AY&SY"), [0, 2]);
        assert_eq!(find_streams(b"BZh91AY&S"), [0]);
        let (file, starts, _) = generated(6);
        assert_eq!(find_streams(&file), starts);
    }

    #[test]
    fn header_kinds() {
        assert_eq!(header_at(b"BZh91AY&SY", 0), Header::Valid);
        assert_eq!(header_at(b"BZh1\x17\x72\x45\x38\x50\x90", 0), Header::Valid);
        assert_eq!(header_at(b"BZh91AY", 0), Header::Partial);
        assert_eq!(header_at(b"BZh9\x17", 0), Header::Partial);
        assert_eq!(header_at(b"", 0), Header::Partial);
        assert_eq!(header_at(b"BZh01AY&SY", 0), Header::Invalid);
        assert_eq!(header_at(b"BZh91AY&SX", 0), Header::Invalid);
        assert_eq!(header_at(b"BZh91AX", 0), Header::Invalid);
        assert_eq!(header_at(b"xBZh91AY&SY", 1), Header::Valid);
        assert_eq!(header_at(b"x", 5), Header::Partial);
    }

    #[test]
    fn multistream_sample_decodes_in_order() {
        let multi = sample(MULTI);
        let (xml, pieces) = decode_all(&multi, &find_streams(&multi), &opts()).unwrap();
        assert!(xml == reference(), "decoded output differs from the reference");
        assert_eq!(pieces, MULTI_STARTS.len());
        // One segment at a time, and with big segments streamed.
        let narrow = DecodeOptions { max_segments: 1, ..opts() };
        assert!(decode_all(&multi, &MULTI_STARTS, &narrow).unwrap().0 == reference());
        let streamed = DecodeOptions { stream_threshold: 100_000, piece_size: 300_000, ..opts() };
        let (xml, pieces) = decode_all(&multi, &MULTI_STARTS, &streamed).unwrap();
        assert!(xml == reference());
        assert!(pieces > 10, "{pieces}");
        // Without candidates, every stream is decoded after the one before.
        let (xml, pieces) = decode_all(&multi, &[], &opts()).unwrap();
        assert!(xml == reference());
        assert_eq!(pieces, 1);
    }

    #[test]
    fn single_stream_sample_streams_in_pieces() {
        let single = sample(SINGLE);
        let (xml, pieces) = decode_all(&single, &find_streams(&single), &opts()).unwrap();
        assert!(xml == reference());
        assert_eq!(pieces, 1);
        let small = DecodeOptions { stream_threshold: 64 << 10, piece_size: 512 << 10, ..opts() };
        let (xml, pieces) = decode_all(&single, &[0], &small).unwrap();
        assert!(xml == reference());
        assert!(pieces >= 10, "{pieces}");
    }

    #[test]
    fn decodes_on_a_one_thread_pool() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let multi = sample(MULTI);
        let xml = pool.install(|| decode_all(&multi, &find_streams(&multi), &opts())).unwrap().0;
        assert!(xml == reference());
        let (file, starts, plain) = generated(12);
        let xml = pool.install(|| decode_all(&file, &starts, &opts())).unwrap().0;
        assert!(xml == plain);
    }

    #[test]
    fn false_candidates_are_crossed() {
        let (file, starts, plain) = generated(8);
        // A fake boundary in the middle of streams 1, 3 and 7 (the last).
        let mut with_fakes = starts.clone();
        for i in [1, 3, 7] {
            let end = starts.get(i + 1).copied().unwrap_or(file.len());
            with_fakes.push((starts[i] + end) / 2);
        }
        with_fakes.sort_unstable();
        let fake = with_fakes[2];
        assert!(!starts.contains(&fake));

        // The segment decoder crosses the fake boundary and stops at the next real start.
        let limits = Limits { max_in: usize::MAX, max_out: usize::MAX, capacity: 0 };
        let stop = Stop { cancel: &NEVER, stop: &NEVER };
        let end = run(&file, &with_fakes, 1, limits, usize::MAX, stop, &mut |_, _| true).unwrap();
        assert_eq!((end.end, end.next), (starts[2], 3));
        let s1 = &plain[text(0, 20_000).len()..];
        assert!(end.tail[..] == s1[..end.tail.len()]);
        // With a tight input limit, the pool task gives up instead.
        let tight = Limits { max_in: fake - starts[1], ..limits };
        assert!(matches!(
            run(&file, &with_fakes, 1, tight, usize::MAX, stop, &mut |_, _| true),
            Err(RunError::Overrun)
        ));
        // A run starting at a fake boundary fails (and is never reported).
        assert!(run(&file, &with_fakes, 2, limits, usize::MAX, stop, &mut |_, _| true).is_err());

        for o in [
            opts(),
            DecodeOptions { stream_threshold: 10_000, piece_size: 4096, ..opts() },
            // Some segments up to a fake boundary are pool tasks that
            // cross it, others overrun and are streamed instead.
            DecodeOptions { stream_threshold: 6_000, ..opts() },
        ] {
            let (xml, _) = decode_all(&file, &with_fakes, &o).unwrap();
            assert!(xml == plain);
        }
        // Stream starts missing from the candidates: decoded all the same.
        let sparse = [starts[0], starts[3], starts[6]];
        assert!(decode_all(&file, &sparse, &opts()).unwrap().0 == plain);
    }

    #[test]
    fn truncated_files_are_reported() {
        let multi = sample(MULTI);
        let single = sample(SINGLE);
        let streamed = DecodeOptions { stream_threshold: 50_000, ..opts() };
        let cuts =
            [1, 2, 3, 4, 9, 10, 11, 100, 637, 639, 648, 300_000, 575_010, 1_617_600, 1_699_950, 1_699_960];
        let cases = [
            (&multi, &cuts[..], opts()),
            (&multi, &[multi.len() - 1][..], opts()),
            (&multi, &[5_000, 700_000][..], streamed.clone()),
            (&single, &[3, 100, 300_000, single.len() - 1][..], streamed),
        ];
        for (file, cuts, o) in cases {
            for &cut in cuts {
                let data = &file[..cut];
                match decode_all(data, &find_streams(data), &o) {
                    Err(DecodeError::Truncated { offset }) => assert_eq!(offset, cut as u64),
                    other => panic!("cut at {cut}: {other:?}"),
                }
            }
        }
        assert!(matches!(decode_all(b"", &[], &opts()), Err(DecodeError::Truncated { offset: 0 })));
    }

    #[test]
    fn damaged_bytes_are_reported() {
        let multi = sample(MULTI);
        for flip in
            [5, 700, 5_000, 300_000, 575_005, 575_020, 1_000_000, 1_617_700, 1_699_970, multi.len() - 2]
        {
            let mut data = multi.clone();
            data[flip] ^= 0x55;
            let streamed = DecodeOptions { stream_threshold: 50_000, ..opts() };
            let options =
                if [700, 1_000_000].contains(&flip) { vec![opts(), streamed] } else { vec![opts()] };
            for o in options {
                match decode_all(&data, &find_streams(&data), &o) {
                    Err(DecodeError::Corrupt { offset, stream_start, message }) => {
                        // Damage in a stream header is reported at the header.
                        let (offset, stream_start) = (offset as usize, stream_start as usize);
                        assert!(stream_start <= flip && (flip <= offset || offset == stream_start), "{flip}");
                        assert!(!message.is_empty());
                    }
                    other => panic!("flip at {flip}: {other:?}"),
                }
            }
        }
        let e = decode_all(b"<mediawiki>\n</mediawiki>\n", &[], &opts()).unwrap_err();
        assert!(matches!(e, DecodeError::Corrupt { offset: 0, stream_start: 0, .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("corrupt at compressed byte 0") && msg.contains("fetch it again"), "{msg}");
    }

    #[test]
    fn foreign_headers_are_not_bz2() {
        for head in [
            &b"\x1f\x8b\x08\0\0\0\0\0"[..],
            b"\x28\xb5\x2f\xfd\0\0",
            b"\xfd7zXZ\0\0\0",
            b"7z\xbc\xaf\x27\x1c\0",
        ] {
            let e = decode_all(head, &find_streams(head), &opts()).unwrap_err();
            assert!(matches!(e, DecodeError::Corrupt { offset: 0, .. }), "{e:?}");
        }
        for head in [&b"\xff\xfe<\0m\0"[..], b"\xfe\xff\0<\0m"] {
            let e = decode_all(head, &[], &opts()).unwrap_err();
            assert!(matches!(e, DecodeError::Corrupt { offset: 0, .. }), "{e:?}");
        }
    }

    #[test]
    fn trailing_garbage_is_reported() {
        let multi = sample(MULTI);
        let len = multi.len() as u64;
        for (tail, want) in [(&b"\n"[..], 1), (&[0u8; 100][..], 100), (b"BZh0 not a stream", 17)] {
            let data = [&multi[..], tail].concat();
            match decode_all(&data, &find_streams(&data), &opts()) {
                Err(e @ DecodeError::TrailingGarbage { .. }) => {
                    assert!(
                        matches!(e, DecodeError::TrailingGarbage { offset, len: n } if offset == len && n == want)
                    );
                    assert!(e.to_string().contains(&format!("from byte {len}")), "{e}");
                }
                other => panic!("{other:?}"),
            }
        }
        // A stream header and nothing more looks like a cut-off stream.
        let data = [&multi[..], b"BZh91AY&SY"].concat();
        assert!(matches!(
            decode_all(&data, &find_streams(&data), &opts()),
            Err(DecodeError::Truncated { offset }) if offset == data.len() as u64
        ));

        // Bytes planted between two streams of a generated file.
        let (file, starts, _) = generated(6);
        let at = starts[3];
        for planted in [&b"BZh91AY&SY"[..], b"BZh91AY&SYBZh91AY&SY", b"garbage", b"\0"] {
            let data = [&file[..at], planted, &file[at..]].concat();
            for o in [opts(), DecodeOptions { stream_threshold: 10_000, ..opts() }] {
                match decode_all(&data, &find_streams(&data), &o) {
                    Err(DecodeError::Corrupt { offset, stream_start, .. }) => {
                        assert_eq!(stream_start as usize, at);
                        assert!(offset as usize >= at);
                    }
                    other => panic!("{planted:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_sink_error_stops_decoding() {
        let (file, starts, _) = generated(40);
        let single = sample(SINGLE);
        let streamed = DecodeOptions { stream_threshold: 64 << 10, piece_size: 256 << 10, ..opts() };
        for (data, starts, o) in [(&file, &starts[..], opts()), (&single, &[0][..], streamed)] {
            let calls = AtomicUsize::new(0);
            let r = decode(data, starts, &o, |_| {
                if calls.fetch_add(1, Ordering::Relaxed) == 2 { Err("disk full") } else { Ok(()) }
            });
            assert!(matches!(r, Err(DecodeError::Sink("disk full"))), "{r:?}");
            assert_eq!(calls.load(Ordering::Relaxed), 3);
            assert_eq!(r.unwrap_err().into_sink().unwrap(), "disk full");
        }
    }

    #[test]
    fn cancelling_stops_decoding() {
        let (file, starts, _) = generated(40);
        let single = sample(SINGLE);
        for (data, starts, streamed) in [(&file, &starts[..], false), (&single, &[0][..], true)] {
            let cancel = AtomicBool::new(false);
            let mut o = DecodeOptions::new(&cancel);
            if streamed {
                o.stream_threshold = 64 << 10;
                o.piece_size = 256 << 10;
            }
            let mut calls = 0;
            let r = decode(data, starts, &o, |_| {
                calls += 1;
                if calls == 2 {
                    cancel.store(true, Ordering::Relaxed);
                }
                Ok::<(), Infallible>(())
            });
            assert_eq!(r.unwrap(), Outcome::Cancelled);
            assert_eq!(calls, 2);
        }
        let cancel = AtomicBool::new(true);
        let r = decode(&file, &starts, &DecodeOptions::new(&cancel), |_| -> Result<(), Infallible> {
            panic!("delivered after cancel")
        });
        assert_eq!(r.unwrap(), Outcome::Cancelled);
    }

    /// Random cuts and flips of a small file: an error or the right output,
    /// never a panic or a hang.
    #[test]
    fn damage_never_panics() {
        let (file, starts, plain) = generated(5);
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut rnd = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for i in 0..60 {
            let mut data = file.clone();
            match i % 3 {
                0 => data.truncate(rnd(file.len())),
                1 => {
                    let at = rnd(file.len());
                    data[at] ^= 1 << rnd(8);
                }
                _ => {
                    let at = rnd(file.len());
                    let n = rnd(64).min(file.len() - at);
                    data.drain(at..at + n);
                }
            }
            let o =
                DecodeOptions { stream_threshold: [usize::MAX, 20_000][i % 2], piece_size: 8192, ..opts() };
            for cands in [find_streams(&data), starts.iter().copied().filter(|&s| s < data.len()).collect()] {
                if let Ok((xml, _)) = decode_all(&data, &cands, &o) {
                    // Only a cut at a stream boundary decodes: to a prefix.
                    assert!(plain.starts_with(&xml), "case {i}");
                }
            }
        }
    }
}
