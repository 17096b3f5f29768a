//! [`Store`]: an opened, checked, memory-mapped page store, read frame by
//! frame through a bounded cache of decompressed frames.
//!
//! Opening checks the layout, the CRCs of the metadata and that the seek
//! table accounts for every byte. Each frame is checked when it is
//! decompressed (its zstd checksum, its length and its checksum in the seek
//! table), so damage shows up as [`StoreError::Corrupt`], never as wrong
//! bytes; [`Store::verify`] decompresses everything.

use super::{
    CHECKSUM_FLAG, ENTRY_LEN, MAX_FRAMES, SEEK_TABLE_FOOTER_LEN, SEEK_TABLE_MAGIC, SEEKABLE_MAGIC,
    SKIPPABLE_HEADER_LEN, STORE_FRAME_LEN, STORE_FRAME_MAGIC, STORE_PAYLOAD_LEN, STORE_VERSION, le_u32,
    le_u64,
};
use crate::format::MAGIC;
use memmap2::Mmap;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::io;
use std::ops::{Bound, Range, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use xxhash_rust::xxh3::Xxh3Default;
use zstd::bulk::Decompressor;
use zstd::zstd_safe;

/// Everything that can go wrong opening or reading a page store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An operating-system call on the store failed.
    #[error("{path}: failed to {action}: {cause}")]
    Io {
        /// The store.
        path: PathBuf,
        /// What we were doing, as a verb phrase.
        action: &'static str,
        /// The underlying error.
        cause: io::Error,
    },
    /// The file is not a page store, or its metadata is damaged.
    #[error("{path}: not a valid page store: {message} (rebuild the index with `wikidex index`)")]
    Format {
        /// The store.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The store was written in a format version this build does not read.
    #[error(
        "{path}: page store version {got} is not supported (this wikidex reads version {expected}); rebuild the index with `wikidex index`"
    )]
    Version {
        /// The store.
        path: PathBuf,
        /// The version this build reads.
        expected: u32,
        /// The version found on disk.
        got: u32,
    },
    /// A frame does not decompress to what the seek table says.
    #[error(
        "{path}: frame {frame} (at byte {offset}) is corrupt: {message} (rebuild the index with `wikidex index`)"
    )]
    Corrupt {
        /// The store.
        path: PathBuf,
        /// The frame's number.
        frame: usize,
        /// The frame's offset in the store file.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A read asked for bytes the store does not hold.
    #[error("{path}: bytes {start}..{end} are not within the {len} bytes of the page store")]
    OutOfRange {
        /// The store.
        path: PathBuf,
        /// First byte asked for.
        start: u64,
        /// End of the bytes asked for (exclusive).
        end: u64,
        /// Uncompressed bytes in the store.
        len: u64,
    },
}

/// Counters of the frame cache, since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Frames found in the cache (or decompressed by a concurrent reader).
    pub hits: u64,
    /// Frames decompressed.
    pub misses: u64,
    /// Decompressed bytes held now.
    pub bytes_cached: u64,
    /// The most decompressed bytes the cache holds.
    pub capacity: u64,
}

/// Weighs a cached frame by its bytes.
#[derive(Clone)]
struct ByLen;

impl Weighter<usize, Arc<[u8]>> for ByLen {
    fn weight(&self, _: &usize, frame: &Arc<[u8]>) -> u64 {
        // The cache never evicts items of weight 0.
        (frame.len() as u64).max(1)
    }
}

thread_local! {
    // One decompression context per thread, reused across frames.
    static DECOMPRESSOR: RefCell<Decompressor<'static>> = RefCell::new(Decompressor::default());
}

/// An open page store: the uncompressed dump's bytes, by offset.
///
/// ```no_run
/// use wikidex_indexer::store::Store;
///
/// let store = Store::open("enwiki.wikidex/pages.zst".as_ref(), 256 << 20)?;
/// let head = store.read_to_vec(0..100)?;
/// store.read(1_000_000..=9_000_000, |chunk| {
///     // Send `chunk` somewhere; chunks come in order, one per frame.
///     Ok::<_, wikidex_indexer::store::StoreError>(())
/// })?;
/// # Ok::<(), wikidex_indexer::store::StoreError>(())
/// ```
pub struct Store {
    path: PathBuf,
    map: Mmap,
    /// Offset in `map` of the first seek table entry.
    entries: usize,
    /// Uncompressed offset of every frame, then the total.
    starts: Vec<u64>,
    /// File offset of every frame, then of the store frame.
    offsets: Vec<u64>,
    content_hash: u128,
    cache: Option<Cache<usize, Arc<[u8]>, ByLen>>,
    capacity: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("len", &self.len())
            .field("frames", &self.frames())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store at `path`, caching up to `cache_bytes` of
    /// decompressed frames (0: none).
    ///
    /// Checks the layout, the magics, the version, the CRCs of the metadata
    /// and that the seek table accounts for every byte; it decompresses
    /// nothing.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let io = |action, source| StoreError::Io { path: path.to_path_buf(), action, cause: source };
        let bad = |message: String| StoreError::Format { path: path.to_path_buf(), message };
        let file = File::open(path).map_err(|e| io("open the page store", e))?;
        // SAFETY: the map is read-only, and index files are written once into
        // a temporary directory and renamed into place; wikidex never modifies
        // a published index file, it replaces the whole directory. Another
        // program truncating the file while we run is outside what any mmap
        // reader can defend against.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| io("memory-map the page store", e))?;

        let len = map.len();
        let shortest = STORE_FRAME_LEN + SKIPPABLE_HEADER_LEN + SEEK_TABLE_FOOTER_LEN;
        if len < shortest {
            return Err(bad(format!("{len} bytes is too short (a page store has at least {shortest})")));
        }
        let footer = &map[len - SEEK_TABLE_FOOTER_LEN..];
        if le_u32(&footer[5..]) != SEEKABLE_MAGIC {
            return Err(bad("it does not end with a zstd seek table".into()));
        }
        // Bits 1-0 are unused; the seekable format lets writers set them.
        if footer[4] & !0b11 != CHECKSUM_FLAG {
            return Err(bad(format!("seek table descriptor {:#04x}: not one this build writes", footer[4])));
        }
        let frames = le_u32(footer);
        let table_len = SKIPPABLE_HEADER_LEN + frames as usize * ENTRY_LEN + SEEK_TABLE_FOOTER_LEN;
        let table_at = match len.checked_sub(table_len) {
            Some(at) if at >= STORE_FRAME_LEN && frames <= MAX_FRAMES => at,
            _ => return Err(bad(format!("a seek table of {frames} frames does not fit in {len} bytes"))),
        };
        let table = &map[table_at..];
        if le_u32(table) != SEEK_TABLE_MAGIC
            || le_u32(&table[4..]) as usize != table_len - SKIPPABLE_HEADER_LEN
        {
            return Err(bad("the seek table's frame header does not match its footer".into()));
        }

        let ours_at = table_at - STORE_FRAME_LEN;
        let ours = &map[ours_at..table_at];
        if le_u32(ours) != STORE_FRAME_MAGIC
            || le_u32(&ours[4..]) as usize != STORE_PAYLOAD_LEN
            || ours[8..16] != MAGIC
        {
            return Err(bad("no wikidex frame before the seek table".into()));
        }
        if crc32fast::hash(&ours[8..48]) != le_u32(&ours[48..]) {
            return Err(bad("the wikidex frame's own checksum does not match".into()));
        }
        let version = le_u32(&ours[16..]);
        if version != STORE_VERSION {
            return Err(StoreError::Version {
                path: path.to_path_buf(),
                expected: STORE_VERSION,
                got: version,
            });
        }
        if crc32fast::hash(table) != le_u32(&ours[28..]) {
            return Err(bad("the seek table's checksum does not match".into()));
        }
        let total = le_u64(&ours[20..]);
        let content_hash = u128::from_le_bytes(*ours[32..].first_chunk().expect("16 bytes"));

        let entries = table_at + SKIPPABLE_HEADER_LEN;
        let mut starts = Vec::with_capacity(frames as usize + 1);
        let mut offsets = Vec::with_capacity(frames as usize + 1);
        let (mut start, mut offset) = (0, 0);
        for entry in map[entries..entries + frames as usize * ENTRY_LEN].chunks_exact(ENTRY_LEN) {
            starts.push(start);
            offsets.push(offset);
            offset += u64::from(le_u32(entry));
            start += u64::from(le_u32(&entry[4..]));
        }
        starts.push(start);
        offsets.push(offset);
        if offset != ours_at as u64 {
            return Err(bad(format!(
                "the seek table's frames end at byte {offset}, but the wikidex frame starts at byte {ours_at}"
            )));
        }
        if start != total {
            return Err(bad(format!(
                "the seek table's frames hold {start} bytes, the wikidex frame says {total}"
            )));
        }

        let cache = (cache_bytes > 0).then(|| {
            let average = (total / u64::from(frames.max(1))).max(1);
            let items = (cache_bytes / average).clamp(1, u64::from(frames.max(1)));
            Cache::with_weighter(items as usize, cache_bytes, ByLen)
        });
        Ok(Store {
            path: path.to_path_buf(),
            map,
            entries,
            starts,
            offsets,
            content_hash,
            cache,
            capacity: cache_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// Uncompressed bytes in the store.
    pub fn len(&self) -> u64 {
        *self.starts.last().expect("one start past the last frame")
    }

    /// True when the store holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.starts.len() - 1
    }

    /// xxh3-128 of the uncompressed bytes, as the writer computed it.
    pub fn content_hash(&self) -> u128 {
        self.content_hash
    }

    /// The uncompressed bytes frame `i` holds.
    ///
    /// # Panics
    ///
    /// If `i >= self.frames()`.
    pub fn frame_range(&self, i: usize) -> Range<u64> {
        self.starts[i]..self.starts[i + 1]
    }

    /// The frame holding uncompressed byte `offset`, or [`frames`](Self::frames)
    /// when `offset >= self.len()`.
    pub fn frame_at(&self, offset: u64) -> usize {
        self.starts.partition_point(|&start| start <= offset) - 1
    }

    /// Frame `i`, decompressed, from the cache or into it.
    ///
    /// # Panics
    ///
    /// If `i >= self.frames()`.
    pub fn frame(&self, i: usize) -> Result<Arc<[u8]>, StoreError> {
        assert!(i < self.frames(), "frame {i} of a store of {} frames", self.frames());
        let Some(cache) = &self.cache else {
            self.misses.fetch_add(1, Relaxed);
            return self.decompress(i);
        };
        let mut missed = false;
        let frame = cache.get_or_insert_with(&i, || {
            missed = true;
            self.decompress(i)
        });
        (if missed { &self.misses } else { &self.hits }).fetch_add(1, Relaxed);
        frame
    }

    /// Hands the uncompressed bytes in `range` to `visit`, in order, one
    /// piece per frame, so a long range is never copied whole.
    ///
    /// Fails, before visiting anything, if `range` is not within
    /// `0..self.len()`; stops at the first error of a frame or of `visit`.
    pub fn read<E: From<StoreError>>(
        &self,
        range: impl RangeBounds<u64>,
        mut visit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let Range { mut start, end } = self.bounds(range)?;
        while start < end {
            let (frame, part) = self.piece(start, end)?;
            visit(&frame[part.clone()])?;
            start += part.len() as u64;
        }
        Ok(())
    }

    /// The decompressed frame holding byte `at` and the part of it from
    /// `at` up to `end` (or the frame's end): one step of reading a range,
    /// for a caller that streams it a frame at a time.
    pub fn piece(&self, at: u64, end: u64) -> Result<(Arc<[u8]>, Range<usize>), StoreError> {
        let Range { start, end } = self.bounds(at..end)?;
        let i = self.frame_at(start);
        let frame = self.frame(i)?;
        let Range { start: from, end: to } = self.frame_range(i);
        Ok((frame, (start - from) as usize..(end.min(to) - from) as usize))
    }

    /// The uncompressed bytes in `range`, copied; for short ranges.
    pub fn read_to_vec(&self, range: impl RangeBounds<u64>) -> Result<Vec<u8>, StoreError> {
        let range = self.bounds(range)?;
        let mut out = Vec::with_capacity((range.end - range.start) as usize);
        self.read(range, |chunk| {
            out.extend_from_slice(chunk);
            Ok::<_, StoreError>(())
        })?;
        Ok(out)
    }

    /// Decompresses every frame, bypassing the cache, and checks each one
    /// and the xxh3-128 of them all.
    pub fn verify(&self) -> Result<(), StoreError> {
        let mut hasher = Box::new(Xxh3Default::new());
        for i in 0..self.frames() {
            hasher.update(&self.decompress(i)?);
        }
        let got = hasher.digest128();
        if got != self.content_hash {
            return Err(StoreError::Format {
                path: self.path.clone(),
                message: format!(
                    "the frames' xxh3-128 is {got:032x}, the wikidex frame says {:032x}",
                    self.content_hash
                ),
            });
        }
        Ok(())
    }

    /// Counters of the frame cache.
    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            bytes_cached: self.cache.as_ref().map_or(0, Cache::weight),
            capacity: self.capacity,
        }
    }

    fn bounds(&self, range: impl RangeBounds<u64>) -> Result<Range<u64>, StoreError> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => self.len(),
        };
        if start > end || end > self.len() {
            return Err(StoreError::OutOfRange { path: self.path.clone(), start, end, len: self.len() });
        }
        Ok(start..end)
    }

    /// Decompresses frame `i` and checks it against the seek table.
    fn decompress(&self, i: usize) -> Result<Arc<[u8]>, StoreError> {
        let offset = self.offsets[i];
        let src = &self.map[offset as usize..self.offsets[i + 1] as usize];
        let len = (self.starts[i + 1] - self.starts[i]) as usize;
        let checksum = le_u32(&self.map[self.entries + i * ENTRY_LEN + 8..]);
        let corrupt =
            |message: String| StoreError::Corrupt { path: self.path.clone(), frame: i, offset, message };

        // zstd decodes every frame it is given: `src` must be exactly one.
        match zstd_safe::find_frame_compressed_size(src) {
            Ok(n) if n == src.len() => {}
            Ok(n) => {
                return Err(corrupt(format!("a {n}-byte zstd frame where the seek table has {}", src.len())));
            }
            Err(code) => {
                return Err(corrupt(format!("not a zstd frame ({})", zstd_safe::get_error_name(code))));
            }
        }
        // Its last four bytes are zstd's content checksum, which decompression
        // compares with the content.
        let stored = src.last_chunk().map_or(0, |&b| u32::from_le_bytes(b));
        if stored != checksum {
            return Err(corrupt(format!("checksum {stored:#010x}, the seek table says {checksum:#010x}")));
        }
        // SAFETY: all-zero bytes are initialized `u8`s.
        let mut frame: Arc<[u8]> = unsafe { Arc::new_zeroed_slice(len).assume_init() };
        let out = Arc::get_mut(&mut frame).expect("a new Arc is unique");
        let written = DECOMPRESSOR
            .with_borrow_mut(|d| d.decompress_to_buffer(src, out))
            .map_err(|e| corrupt(format!("zstd cannot decompress it: {e}")))?;
        if written != len {
            return Err(corrupt(format!("it holds {written} bytes, the seek table says {len}")));
        }
        Ok(frame)
    }
}

#[cfg(all(test, feature = "build"))]
mod tests {
    use super::*;
    use crate::store::{StoreWriter, compress_frame, frame_cuts};

    /// `len` bytes of dump-like text and the offsets of its `<page>` tags.
    fn dump(len: usize) -> (Vec<u8>, Vec<usize>) {
        let words = ["<page>", "the ", "wiki ", "of ", "[[link]] ", "</page>\n", "{{cite}} ", "ß→ "];
        let (mut data, mut state) = (Vec::with_capacity(len + 16), 0x9E37_79B9_7F4A_7C15u64);
        while data.len() < len {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            data.extend_from_slice(words[(state >> 59) as usize % words.len()].as_bytes());
        }
        data.truncate(len);
        let pages = data.windows(6).enumerate().filter(|(_, w)| w == b"<page>").map(|(i, _)| i).collect();
        (data, pages)
    }

    /// A store of `data` in frames of about `target` bytes.
    fn store_bytes(data: &[u8], pages: &[usize], target: usize) -> Vec<u8> {
        let mut file = Vec::new();
        let mut writer = StoreWriter::new(&mut file);
        let mut start = 0;
        for end in frame_cuts(data.len(), pages, target) {
            let chunk = &data[start..end];
            writer.push(compress_frame(chunk, 3).unwrap(), chunk).unwrap();
            start = end;
        }
        let summary = writer.finish().unwrap();
        assert_eq!(summary.compressed_bytes, file.len() as u64);
        file
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("pages.zst");
            Fixture { _dir: dir, path }
        }

        fn open(&self, bytes: &[u8], cache_bytes: u64) -> Result<Store, StoreError> {
            std::fs::write(&self.path, bytes).unwrap();
            Store::open(&self.path, cache_bytes)
        }

        fn open_err(&self, bytes: &[u8]) -> StoreError {
            let err = self.open(bytes, 0).unwrap_err();
            assert!(err.to_string().starts_with(&self.path.display().to_string()), "{err}");
            err
        }
    }

    #[test]
    fn round_trip_reads_every_range() {
        let f = Fixture::new();
        let (data, pages) = dump(20_000);
        let bytes = store_bytes(&data, &pages, 1000);
        let store = f.open(&bytes, 1 << 20).unwrap();
        let cuts = frame_cuts(data.len(), &pages, 1000);
        assert_eq!((store.len(), store.frames()), (data.len() as u64, cuts.len()));
        assert_eq!(store.content_hash(), xxhash_rust::xxh3::xxh3_128(&data));
        store.verify().unwrap();

        let mut start = 0;
        for (i, &end) in cuts.iter().enumerate() {
            assert_eq!(store.frame_range(i), start as u64..end as u64);
            assert_eq!((store.frame_at(start as u64), store.frame_at(end as u64 - 1)), (i, i));
            assert_eq!(&store.frame(i).unwrap()[..], &data[start..end]);
            start = end;
        }
        assert_eq!(store.frame_at(store.len()), store.frames());

        let len = data.len() as u64;
        let mut ranges = vec![0..len, 0..1, len - 1..len, 0..0, len..len];
        for &cut in &cuts[..cuts.len() - 1] {
            let cut = cut as u64;
            ranges.extend([cut - 1..cut, cut..cut + 1, cut - 1..cut + 1, cut - 500..(cut + 2500).min(len)]);
        }
        for r in ranges {
            let want = &data[r.start as usize..r.end as usize];
            assert_eq!(store.read_to_vec(r.clone()).unwrap(), want, "{r:?}");
            let mut pieces = Vec::new();
            store
                .read(r.clone(), |p| {
                    pieces.push(p.to_vec());
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            assert_eq!(pieces.concat(), want, "{r:?}");
            let frames =
                if r.is_empty() { 0 } else { store.frame_at(r.end - 1) - store.frame_at(r.start) + 1 };
            assert_eq!(pieces.len(), frames, "{r:?}");
        }
        assert_eq!(store.read_to_vec(5..=9).unwrap(), &data[5..10]);
        assert_eq!(store.read_to_vec(..).unwrap(), data);
    }

    #[test]
    fn tiny_store_reads_every_range() {
        let f = Fixture::new();
        let (data, pages) = dump(300);
        let store = f.open(&store_bytes(&data, &pages, 40), 1 << 20).unwrap();
        assert!(store.frames() > 5);
        for start in 0..=data.len() {
            for end in start..=data.len() {
                let got = store.read_to_vec(start as u64..end as u64).unwrap();
                assert_eq!(got, &data[start..end], "{start}..{end}");
            }
        }
    }

    #[test]
    fn reads_outside_the_store_are_errors() {
        let f = Fixture::new();
        let (data, pages) = dump(500);
        let store = f.open(&store_bytes(&data, &pages, 100), 0).unwrap();
        for r in [0..501, 500..501, 501..501, u64::MAX - 1..u64::MAX] {
            let err = store.read_to_vec(r.clone()).unwrap_err();
            assert!(matches!(err, StoreError::OutOfRange { len: 500, .. }), "{r:?}: {err}");
        }
        assert!(store.read_to_vec(0..=500).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 10..5;
        assert!(store.read_to_vec(backwards).is_err());
        let mut visited = false;
        let err = store
            .read(400..600, |_| {
                visited = true;
                Ok::<_, StoreError>(())
            })
            .unwrap_err();
        assert!(!visited && err.to_string().contains("400..600"), "{err}");
    }

    #[test]
    fn a_failing_visitor_stops_the_read() {
        let f = Fixture::new();
        let (data, pages) = dump(2000);
        let store = f.open(&store_bytes(&data, &pages, 100), 0).unwrap();
        let mut calls = 0;
        let r = store.read(.., |_| {
            calls += 1;
            if calls == 3 {
                Err(StoreError::Format { path: "x".into(), message: "stop".into() })
            } else {
                Ok(())
            }
        });
        assert!(r.is_err());
        assert_eq!(calls, 3);
    }

    #[test]
    fn empty_store() {
        let f = Fixture::new();
        let bytes = store_bytes(b"", &[], 100);
        let store = f.open(&bytes, 1 << 20).unwrap();
        assert_eq!((store.len(), store.frames()), (0, 0));
        assert_eq!(store.content_hash(), xxhash_rust::xxh3::xxh3_128(b""));
        assert_eq!(store.read_to_vec(..).unwrap(), b"");
        assert!(store.read_to_vec(0..1).is_err());
        store.verify().unwrap();
        assert_eq!(zstd::stream::decode_all(&bytes[..]).unwrap(), b"");
    }

    #[test]
    fn decodes_as_a_plain_zstd_file() {
        let f = Fixture::new();
        let (data, pages) = dump(50_000);
        let bytes = store_bytes(&data, &pages, 4096);
        assert!(bytes.len() < data.len() / 2, "{} of {}", bytes.len(), data.len());
        assert_eq!(zstd::stream::decode_all(&bytes[..]).unwrap(), data);
        std::fs::write(&f.path, &bytes).unwrap();
        match std::process::Command::new("zstd").arg("-dcq").arg(&f.path).output() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {} // no zstd tool here
            Err(e) => panic!("running zstd: {e}"),
            Ok(out) => {
                assert!(out.status.success(), "zstd -dc: {}", String::from_utf8_lossy(&out.stderr));
                assert!(out.stdout == data, "zstd -dc gave other bytes");
            }
        }
    }

    #[test]
    fn a_damaged_frame_fails_alone() {
        let f = Fixture::new();
        let (data, pages) = dump(5000);
        let mut bytes = store_bytes(&data, &pages, 500);
        let clean = f.open(&bytes, 0).unwrap();
        let (offset, end) = (clean.offsets[2], clean.offsets[3]);
        drop(clean);
        bytes[(offset + end) as usize / 2] ^= 0x10;
        let store = f.open(&bytes, 1 << 20).unwrap();
        let err = store.frame(2).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { frame: 2, offset: o, .. } if o == offset), "{err}");
        assert!(err.to_string().contains("pages.zst") && err.to_string().contains("frame 2"), "{err}");
        for i in (0..store.frames()).filter(|&i| i != 2) {
            let r = store.frame_range(i);
            assert_eq!(&store.frame(i).unwrap()[..], &data[r.start as usize..r.end as usize]);
        }
        assert!(store.read_to_vec(store.frame_range(2)).is_err());
        assert!(matches!(store.verify(), Err(StoreError::Corrupt { frame: 2, .. })));
    }

    #[test]
    fn damaged_metadata_fails_open() {
        let f = Fixture::new();
        let (data, pages) = dump(3000);
        let bytes = store_bytes(&data, &pages, 500);
        let frames = f.open(&bytes, 0).unwrap().frames();
        let table_at = bytes.len() - (SKIPPABLE_HEADER_LEN + frames * ENTRY_LEN + SEEK_TABLE_FOOTER_LEN);
        let ours_at = table_at - STORE_FRAME_LEN;
        let flipped = |at: usize| {
            let mut b = bytes.clone();
            b[at] ^= 0x04;
            b
        };

        for at in [table_at + 9, table_at + 20, bytes.len() - 1, bytes.len() - 5, ours_at + 25, ours_at + 40]
        {
            assert!(matches!(f.open_err(&flipped(at)), StoreError::Format { .. }), "flip at {at}");
        }
        for len in [0, 10, ours_at, bytes.len() - 1] {
            assert!(matches!(f.open_err(&bytes[..len]), StoreError::Format { .. }), "truncated to {len}");
        }
        let mut appended = bytes.clone();
        appended.extend_from_slice(b"\0\0\0\0");
        f.open_err(&appended);
        f.open_err(&zstd::bulk::compress(&data, 3).unwrap());

        let mut future = bytes.clone();
        future[ours_at + 16..ours_at + 20].copy_from_slice(&2u32.to_le_bytes());
        let crc = crc32fast::hash(&future[ours_at + 8..ours_at + 48]);
        future[ours_at + 48..ours_at + 52].copy_from_slice(&crc.to_le_bytes());
        let err = f.open_err(&future);
        assert!(matches!(err, StoreError::Version { expected: 1, got: 2, .. }), "{err}");
        assert!(err.to_string().contains("rebuild the index with `wikidex index`"), "{err}");
    }

    #[test]
    fn every_byte_flip_errors_or_reads_right() {
        let f = Fixture::new();
        let (data, pages) = dump(200);
        let bytes = store_bytes(&data, &pages, 64);
        let (mut refused, mut caught) = (0, 0);
        for at in 0..bytes.len() {
            for mask in [0x01, 0x10, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[at] ^= mask;
                let Ok(store) = f.open(&bad, 1 << 20) else {
                    refused += 1;
                    continue;
                };
                let mut failed = false;
                for i in 0..store.frames() {
                    let r = store.frame_range(i);
                    match store.frame(i) {
                        Ok(frame) => assert_eq!(
                            &frame[..],
                            &data[r.start as usize..r.end as usize],
                            "flip {mask:#x} at {at}"
                        ),
                        Err(StoreError::Corrupt { frame, .. }) if frame == i => failed = true,
                        Err(e) => panic!("flip {mask:#x} at {at}: {e}"),
                    }
                }
                assert_eq!(store.verify().is_err(), failed, "flip {mask:#x} at {at}");
                caught += usize::from(failed);
            }
        }
        // The rest went unnoticed and changed nothing: zstd ignores, for
        // one, the unused bit 0x10 of each frame header's descriptor.
        assert!(refused > bytes.len() && caught > bytes.len(), "{refused} refused, {caught} caught");
    }

    #[test]
    fn stores_are_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Store>();
    }

    #[test]
    fn cache_counts_hits_and_misses() {
        let f = Fixture::new();
        let (data, pages) = dump(5000);
        let bytes = store_bytes(&data, &pages, 500);
        let store = f.open(&bytes, 1 << 20).unwrap();
        let first = store.frame(1).unwrap();
        let again = store.frame(1).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let stats = store.cache_stats();
        assert_eq!((stats.hits, stats.misses, stats.capacity), (1, 1, 1 << 20));
        assert_eq!(stats.bytes_cached, first.len() as u64);

        let uncached = f.open(&bytes, 0).unwrap();
        uncached.frame(1).unwrap();
        uncached.frame(1).unwrap();
        let stats = uncached.cache_stats();
        assert_eq!(stats, CacheStats { hits: 0, misses: 2, bytes_cached: 0, capacity: 0 });
    }
}
