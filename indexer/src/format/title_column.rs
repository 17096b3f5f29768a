//! `titles.fc`: every row's title in row order, front-coded. It is the
//! index's one store of titles: a lookup binary-searches the blocks' first
//! titles, a listing reads on from there one entry at a time.
//!
//! Front coding keeps a title in about half its length (consecutive titles
//! share long prefixes); reading the next entry is a few comparisons and a
//! copy. The heads (each block's first eight bytes, as a big-endian
//! integer) sit apart from the entries so the binary search reads one
//! dense array and decodes a whole title only where eight bytes tie
//! (`docs/FORMAT.md`, "Titles").
//!
//! ```text
//! payload = block* offsets heads
//! block   = entry{BLOCK_ROWS}        (the last block may hold fewer)
//! entry   = shared:varint suffix_len:varint suffix[suffix_len]
//! varint  = LEB128: 7 bits a byte, low bits first, high bit = more
//! offsets = u64 LE per block: where the block starts in the payload
//! heads   = u64 BE per block: its first title's first 8 bytes, 0-padded
//! ```
//!
//! An entry's title is the first `shared` bytes of the previous row's title
//! followed by `suffix`; the first entry of a block has `shared = 0`, so a
//! reader can start at any block. Both lengths are below 128 for nearly
//! every title and then take a byte each; a namespaced title can be up to
//! [`MAX_FULL_TITLE_BYTES`](super::MAX_FULL_TITLE_BYTES) long, and a length
//! from 128 on takes two. A repeated title costs two bytes. Titles hold no
//! NUL byte (XML cannot), so zero padding orders heads as their titles.
//!
//! [`TitleColumnWriter`] writes one; [`TitleColumn`] reads one, checking its
//! shape once when it is opened; [`TitleCursor`] walks its rows. Decoding is
//! bounds-checked: a damaged file (which the manifest's CRC catches) makes
//! a cursor stop early and a search return some row, never panic.

use std::cmp::Ordering;
use std::io::{self, Write};
use std::ops::Range;

/// Rows per block: a cursor starting at row `r` decodes up to
/// `BLOCK_ROWS - 1` entries before it. 16 keeps that under a few hundred
/// instructions and the block offsets and heads at a byte per row.
pub const BLOCK_ROWS: usize = 16;

/// Writes a title column, one row at a time in row order.
///
/// ```
/// use wikidex_indexer::format::{TitleColumn, TitleColumnWriter};
/// let mut w = TitleColumnWriter::new(Vec::new());
/// for title in ["Pyre", "Python", "Pythagoras"] {
///     w.push(title.as_bytes())?;
/// }
/// let bytes = w.finish()?;
/// let column = TitleColumn::new(&bytes[..], 3).expect("a valid column");
/// let mut cursor = column.cursor(1).expect("row 1 exists");
/// assert_eq!(cursor.title(), b"Python");
/// assert!(cursor.advance());
/// assert_eq!((cursor.row(), cursor.title()), (2, &b"Pythagoras"[..]));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TitleColumnWriter<W: Write> {
    out: W,
    written: u64,
    rows: u64,
    prev: Vec<u8>,
    offsets: Vec<u64>,
    heads: Vec<u64>,
}

impl<W: Write> TitleColumnWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> TitleColumnWriter<W> {
        TitleColumnWriter {
            out,
            written: 0,
            rows: 0,
            prev: Vec::with_capacity(256),
            offsets: Vec::new(),
            heads: Vec::new(),
        }
    }

    /// Appends the next row's title. Fails on a title over
    /// [`MAX_FULL_TITLE_BYTES`](super::MAX_FULL_TITLE_BYTES).
    pub fn push(&mut self, title: &[u8]) -> io::Result<()> {
        if title.len() > super::MAX_FULL_TITLE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a title of {} bytes; the title column holds at most {}",
                    title.len(),
                    super::MAX_FULL_TITLE_BYTES
                ),
            ));
        }
        let shared = if self.rows.is_multiple_of(BLOCK_ROWS as u64) {
            self.offsets.push(self.written);
            self.heads.push(head_key(title));
            0
        } else {
            self.prev.iter().zip(title).take_while(|(a, b)| a == b).count()
        };
        let suffix = &title[shared..];
        let mut head = [0u8; 2 * MAX_VARINT];
        let n = put_varint(&mut head, 0, shared);
        let n = put_varint(&mut head, n, suffix.len());
        self.out.write_all(&head[..n])?;
        self.out.write_all(suffix)?;
        self.written += (n + suffix.len()) as u64;
        self.rows += 1;
        self.prev.clear();
        self.prev.extend_from_slice(title);
        Ok(())
    }

    /// Writes the block offsets and heads and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        for offset in &self.offsets {
            self.out.write_all(&offset.to_le_bytes())?;
        }
        for head in &self.heads {
            self.out.write_all(&head.to_be_bytes())?;
        }
        Ok(self.out)
    }
}

/// A title's first eight bytes, zero-padded, as a big-endian integer:
/// heads in integer order are in title order, and a strict inequality
/// between two of them is the same between their titles.
fn head_key(title: &[u8]) -> u64 {
    let mut key = [0u8; 8];
    let n = title.len().min(8);
    key[..n].copy_from_slice(&title[..n]);
    u64::from_be_bytes(key)
}

/// An opened title column: `rows` entries and their block offsets.
pub struct TitleColumn<D: AsRef<[u8]>> {
    data: D,
    rows: u64,
    /// Where the block offsets start (the end of the entries).
    entries_len: usize,
    /// Where the heads start.
    heads_at: usize,
}

/// Why a title column was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<D: AsRef<[u8]>> TitleColumn<D> {
    /// Opens `data` (a payload without its footer) as a column of `rows`
    /// titles. Checks the lengths and the first and last block offsets;
    /// the entries themselves are checked as they are decoded.
    pub fn new(data: D, rows: u64) -> Result<TitleColumn<D>, ShapeError> {
        let bytes = data.as_ref();
        let blocks = rows.div_ceil(BLOCK_ROWS as u64);
        let table = blocks.checked_mul(16).filter(|&t| t <= bytes.len() as u64).ok_or_else(|| {
            ShapeError(format!(
                "{} bytes cannot hold the block offsets and heads of {rows} rows",
                bytes.len()
            ))
        })?;
        let entries_len = bytes.len() - table as usize;
        // Each entry takes at least two bytes.
        if rows.saturating_mul(2) > entries_len as u64 {
            return Err(ShapeError(format!("{entries_len} bytes of entries cannot hold {rows} rows")));
        }
        let heads_at = bytes.len() - blocks as usize * 8;
        let column = TitleColumn { data, rows, entries_len, heads_at };
        if blocks > 0 && (column.block_offset(0) != Some(0) || column.block_offset(blocks - 1).is_none()) {
            return Err(ShapeError("its block offsets point outside its entries".into()));
        }
        Ok(column)
    }

    /// Number of rows.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The bytes it was opened from.
    pub fn data(&self) -> &D {
        &self.data
    }

    fn block_offset(&self, block: u64) -> Option<usize> {
        let at = self.entries_len + block as usize * 8;
        let bytes = self.data.as_ref().get(at..at + 8)?;
        let offset = u64::from_le_bytes(bytes.try_into().ok()?);
        (offset < self.entries_len as u64).then_some(offset as usize)
    }

    /// A cursor on `row`, its title decoded; `None` past the last row (or
    /// in a damaged column).
    pub fn cursor(&self, row: u32) -> Option<TitleCursor<'_>> {
        let mut title = Vec::with_capacity(256);
        let pos = self.decode_into(row, &mut title)?;
        // What the row shares with the one before is only needed after a
        // move; 0 is never wrong as a lower bound.
        Some(TitleCursor { entries: self.entries(), rows: self.rows, row, pos, title, shared: 0 })
    }

    /// Writes the title of `row` into `out`; false past the last row (or
    /// in a damaged column).
    pub fn title_into(&self, row: u32, out: &mut Vec<u8>) -> bool {
        out.clear();
        self.decode_into(row, out).is_some()
    }

    /// Decodes `row`'s block up to `row` into `title`; returns where the
    /// next entry starts.
    fn decode_into(&self, row: u32, title: &mut Vec<u8>) -> Option<usize> {
        if u64::from(row) >= self.rows {
            return None;
        }
        let block = row as usize / BLOCK_ROWS;
        let mut pos = self.block_offset(block as u64)?;
        let entries = self.entries();
        title.clear();
        for _ in block * BLOCK_ROWS..=row as usize {
            pos = decode(entries, pos, title)?;
        }
        Some(pos)
    }

    /// The first row whose title is not below `key` in byte order: where
    /// the titles from `key` on start (the row count if none is).
    pub fn lower_bound(&self, key: &[u8]) -> u64 {
        self.bound(key, false)
    }

    /// The first row whose title is above `key`: where the titles after
    /// `key` start (`/offsets`' `after=`).
    pub fn upper_bound(&self, key: &[u8]) -> u64 {
        self.bound(key, true)
    }

    /// The rows whose titles start with `prefix`.
    pub fn prefix_span(&self, prefix: &[u8]) -> Range<u64> {
        let first = self.lower_bound(prefix);
        first..self.prefix_end(prefix).max(first)
    }

    /// The first row after every title that starts with `prefix` (and
    /// any below it): the least key above all of them, up to `prefix`'s
    /// last byte below 0xFF, that byte plus one. (Without one, every title
    /// from `prefix` on has it.)
    pub fn prefix_end(&self, prefix: &[u8]) -> u64 {
        let Some(i) = prefix.iter().rposition(|&b| b < 0xFF) else { return self.rows };
        let mut next = [0u8; super::MAX_FULL_TITLE_BYTES + 1];
        match next.get_mut(..=i) {
            Some(next) => {
                next.copy_from_slice(&prefix[..=i]);
                next[i] += 1;
                self.lower_bound(next)
            }
            // Longer than any title: none starts with it, so its rows end
            // where they would begin.
            None => self.lower_bound(prefix),
        }
    }

    /// The first row whose title is above `key` (`strict`) or not below
    /// it: a binary search over the heads, which compares whole titles only
    /// where eight bytes tie, then a walk of one block that compares each
    /// entry's suffix with `key` without decoding titles. A damaged column
    /// gives some row, never a panic.
    fn bound(&self, key: &[u8], strict: bool) -> u64 {
        let entries = self.entries();
        let whole = |block: u64| {
            self.block_offset(block).and_then(|at| entry(entries, at)).map(|(_, title, next)| (title, next))
        };
        let before = |title: &[u8]| if strict { title <= key } else { title < key };
        let key_head = head_key(key);
        // The first block whose first title is not before `key`: the
        // answer is that title or a row of the block before.
        let (mut lo, mut hi) = (0u64, self.rows.div_ceil(BLOCK_ROWS as u64));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let head = self.head(mid);
            let is_before = match head.cmp(&key_head) {
                Ordering::Less => true,
                Ordering::Greater => false,
                Ordering::Equal => whole(mid).is_some_and(|(title, _)| before(title)),
            };
            if is_before {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            return 0;
        }
        let block = lo - 1;
        let first = block * BLOCK_ROWS as u64;
        let last = (first + BLOCK_ROWS as u64).min(self.rows);
        let Some((title, mut pos)) = whole(block) else { return first };
        // The previous row's title is before `key` and shares `common`
        // bytes with it, so it sorts below `key` at byte `common` (or
        // equals it, `strict`, or ends there, a prefix of `key`).
        let mut common = title.iter().zip(key).take_while(|(a, b)| a == b).count();
        for row in first + 1..last {
            let Some((shared, suffix, next)) = entry(entries, pos) else { return row };
            if shared < common {
                // It leaves the previous title where that one still
                // matched `key`, to a greater byte: above `key`.
                return row;
            }
            if shared == common {
                // Its bytes from `common` on decide.
                let rest = &key[common..];
                let same = suffix.iter().zip(rest).take_while(|(a, b)| a == b).count();
                let (ours, theirs) = (&suffix[same..], &rest[same..]);
                if ours > theirs || (!strict && ours == theirs) {
                    return row;
                }
                common += same;
            }
            // (`shared > common`: it keeps the previous title's byte at
            // `common`, below `key`'s, and `shared` can only exceed
            // `common` where the previous title is longer.)
            pos = next;
        }
        last
    }

    /// The head of `block` (which exists: the search stays below the
    /// block count, and `new` checked the table's length).
    fn head(&self, block: u64) -> u64 {
        let at = self.heads_at + block as usize * 8;
        u64::from_be_bytes(self.data.as_ref()[at..at + 8].try_into().unwrap())
    }

    fn entries(&self) -> &[u8] {
        &self.data.as_ref()[..self.entries_len]
    }
}

/// Bytes a length takes at most as a varint: titles are at most
/// [`MAX_FULL_TITLE_BYTES`](super::MAX_FULL_TITLE_BYTES) < 2^14.
const MAX_VARINT: usize = 2;

/// Writes `value` as a LEB128 varint into `buf` at `at`; returns the end.
fn put_varint(buf: &mut [u8], mut at: usize, mut value: usize) -> usize {
    while value >= 0x80 {
        buf[at] = (value as u8) | 0x80;
        value >>= 7;
        at += 1;
    }
    buf[at] = value as u8;
    at + 1
}

/// Reads a varint of at most [`MAX_VARINT`] bytes at `pos`: the value and
/// where it ends, or `None` past the end or at a longer one.
#[inline]
fn get_varint(entries: &[u8], pos: usize) -> Option<(usize, usize)> {
    let first = *entries.get(pos)?;
    if first < 0x80 {
        return Some((first as usize, pos + 1));
    }
    let second = *entries.get(pos + 1)?;
    (second < 0x80).then(|| ((first & 0x7F) as usize | (second as usize) << 7, pos + 2))
}

/// The entry at `pos`: what it shares with the previous title, its suffix,
/// and where the next entry starts.
#[inline]
fn entry(entries: &[u8], pos: usize) -> Option<(usize, &[u8], usize)> {
    let (shared, pos) = get_varint(entries, pos)?;
    let (len, from) = get_varint(entries, pos)?;
    let suffix = entries.get(from..from + len)?;
    Some((shared, suffix, from + len))
}

/// Decodes the entry at `pos` over the previous row's `title`; returns
/// where the next entry starts, or `None` at a damaged entry.
#[inline]
fn decode(entries: &[u8], pos: usize, title: &mut Vec<u8>) -> Option<usize> {
    let (shared, suffix, next) = entry(entries, pos)?;
    if shared > title.len() {
        return None;
    }
    title.truncate(shared);
    title.extend_from_slice(suffix);
    Some(next)
}

/// A position in a [`TitleColumn`]: a row and its decoded title.
pub struct TitleCursor<'a> {
    entries: &'a [u8],
    rows: u64,
    row: u32,
    /// Where the entry after `row`'s starts.
    pos: usize,
    title: Vec<u8>,
    /// Bytes the current title shares with the previous row's.
    shared: usize,
}

impl TitleCursor<'_> {
    /// The current row.
    pub fn row(&self) -> u32 {
        self.row
    }

    /// The current row's title.
    pub fn title(&self) -> &[u8] {
        &self.title
    }

    /// How many leading bytes the current title shares with the previous
    /// row's, after [`TitleCursor::advance`]: a listing knows from it,
    /// without comparing bytes, whether the title still has its prefix
    /// (`shared >= prefix.len()`) and whether it repeats the previous one.
    pub fn shared(&self) -> usize {
        self.shared
    }

    /// Moves to the next row; false (and the cursor stays put) past the
    /// last row or at a damaged entry.
    #[inline]
    pub fn advance(&mut self) -> bool {
        if u64::from(self.row) + 1 >= self.rows {
            return false;
        }
        let shared = if (self.row as usize + 1).is_multiple_of(BLOCK_ROWS) {
            // A block's first entry is stored whole: compare it with the
            // previous title, which it is about to overwrite.
            let whole = entry(self.entries, self.pos).map(|(_, suffix, _)| suffix);
            self.title.iter().zip(whole.unwrap_or_default()).take_while(|(a, b)| a == b).count()
        } else {
            // Any other entry stores it (`decode` refuses more than the
            // previous title's length).
            get_varint(self.entries, self.pos).map_or(0, |(shared, _)| shared)
        };
        match decode(self.entries, self.pos, &mut self.title) {
            Some(pos) => {
                self.pos = pos;
                self.row += 1;
                self.shared = shared;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn column_of(titles: &[Vec<u8>]) -> Vec<u8> {
        let mut w = TitleColumnWriter::new(Vec::new());
        for t in titles {
            w.push(t).unwrap();
        }
        w.finish().unwrap()
    }

    proptest! {
        /// From any starting row, a cursor yields exactly the titles pushed.
        #[test]
        fn every_row_decodes_from_any_start(
            mut titles in proptest::collection::vec(proptest::collection::vec(b'a'..=b'd', 0..12), 0..80),
            start in 0usize..80,
        ) {
            titles.sort();
            let bytes = column_of(&titles);
            let column = TitleColumn::new(&bytes[..], titles.len() as u64).unwrap();
            let Some(mut cursor) = column.cursor(start as u32) else {
                prop_assert!(start >= titles.len());
                return Ok(());
            };
            for (row, want) in titles.iter().enumerate().skip(start) {
                prop_assert_eq!(cursor.row() as usize, row);
                prop_assert_eq!(cursor.title(), &want[..]);
                if row > start {
                    let lcp = titles[row - 1].iter().zip(want).take_while(|(a, b)| a == b).count();
                    prop_assert_eq!(cursor.shared(), lcp, "row {}", row);
                }
                let more = cursor.advance();
                prop_assert_eq!(more, row + 1 < titles.len());
            }
        }

        /// Every bound is the one a search of the sorted titles gives,
        /// with repeats, long shared heads (ties on eight bytes), keys
        /// between, before and after all titles, and 0x00/0xFF bytes.
        #[test]
        fn bounds_agree_with_a_sorted_list(
            mut titles in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0xFF), Just(1)], 0..12),
                0..120,
            ),
            keys in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0xFF), Just(0)], 0..12),
                1..20,
            ),
        ) {
            titles.sort();
            let bytes = column_of(&titles);
            let column = TitleColumn::new(&bytes[..], titles.len() as u64).unwrap();
            let picked = titles.iter().step_by(7).cloned();
            for key in keys.into_iter().chain(picked) {
                let lower = titles.partition_point(|t| *t < key) as u64;
                let upper = titles.partition_point(|t| *t <= key) as u64;
                let end = titles.partition_point(|t| *t < key || t.starts_with(&key)) as u64;
                prop_assert_eq!(column.lower_bound(&key), lower, "lower bound of {:?}", key);
                prop_assert_eq!(column.upper_bound(&key), upper, "upper bound of {:?}", key);
                prop_assert_eq!(column.prefix_span(&key), lower..end, "span of {:?}", key);
            }
        }

        /// A damaged column never panics: cursors stop or yield other bytes.
        #[test]
        fn damaged_bytes_never_panic(
            titles in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..40),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<usize>(),
        ) {
            let mut bytes = column_of(&titles);
            for (at, value) in flips {
                let i = at % bytes.len();
                bytes[i] = value;
            }
            bytes.truncate(bytes.len() - cut % 4);
            if let Ok(column) = TitleColumn::new(&bytes[..], titles.len() as u64) {
                for row in 0..titles.len() as u32 {
                    if let Some(mut c) = column.cursor(row) {
                        while c.advance() {}
                    }
                }
            }
        }
    }

    #[test]
    fn a_prefix_longer_than_any_title_spans_no_rows() {
        let titles = [b"a".to_vec(), vec![b'b'; super::super::MAX_FULL_TITLE_BYTES], b"c".to_vec()];
        let bytes = column_of(&titles);
        let column = TitleColumn::new(&bytes[..], 3).unwrap();
        let long = vec![b'b'; super::super::MAX_FULL_TITLE_BYTES + 2];
        assert_eq!(column.prefix_span(&long), 2..2);
        assert_eq!(column.prefix_span(&long[..super::super::MAX_FULL_TITLE_BYTES]), 1..2);
        assert_eq!(column.prefix_span(&[0xFF; 600]), 3..3);
    }

    #[test]
    fn refuses_impossible_shapes() {
        let bytes = column_of(&[b"a".to_vec(), b"b".to_vec()]);
        assert!(TitleColumn::new(&bytes[..], 2).is_ok());
        assert!(TitleColumn::new(&bytes[..], 4).is_err(), "more rows than 6 bytes of entries hold");
        assert!(TitleColumn::new(&bytes[..], 17).is_err(), "more blocks than offsets");
        assert!(TitleColumn::new(&bytes[..bytes.len() - 1], 2).is_err(), "cut offsets");
        assert!(TitleColumn::new(&[][..], 1).is_err());
        assert!(TitleColumn::new(&[][..], 0).is_ok());
        let mut w = TitleColumnWriter::new(Vec::new());
        let longest = [b'x'; super::super::MAX_FULL_TITLE_BYTES];
        assert!(w.push(&longest).is_ok(), "the longest namespaced title fits");
        assert!(w.push(&[b'x'; super::super::MAX_FULL_TITLE_BYTES + 1]).is_err(), "longer is refused");
    }

    #[test]
    fn long_titles_and_long_shared_prefixes_take_two_byte_lengths() {
        let base = "Wikipedia:".to_string() + &"é".repeat(127);
        let mut titles: Vec<Vec<u8>> = (0..40)
            .map(|i| format!("{base}{}{i:03}", "x".repeat(i * 6)).into_bytes())
            .chain([vec![b'y'; super::super::MAX_FULL_TITLE_BYTES]])
            .collect();
        titles.sort();
        let bytes = column_of(&titles);
        let column = TitleColumn::new(&bytes[..], titles.len() as u64).unwrap();
        for start in [0, 1, 15, 16, 17, 39] {
            let mut cursor = column.cursor(start).unwrap();
            for (row, want) in titles.iter().enumerate().skip(start as usize) {
                assert_eq!(cursor.title(), &want[..], "row {row}");
                if row > start as usize {
                    let lcp = titles[row - 1].iter().zip(want).take_while(|(a, b)| a == b).count();
                    assert!(lcp >= 128 || row == titles.len() - 1 || row % BLOCK_ROWS == 0);
                    assert_eq!(cursor.shared(), lcp, "row {row}");
                }
                assert_eq!(cursor.advance(), row + 1 < titles.len());
            }
        }
    }

    #[test]
    fn blocks_start_with_whole_titles() {
        let titles: Vec<Vec<u8>> =
            (0..BLOCK_ROWS + 1).map(|i| format!("Python {i:02}").into_bytes()).collect();
        let bytes = column_of(&titles);
        let column = TitleColumn::new(&bytes[..], titles.len() as u64).unwrap();
        let second = column.block_offset(1).unwrap();
        assert_eq!(&bytes[second..second + 2], &[0, 9], "row 16 is stored whole");
        assert_eq!(&bytes[2 + 9..2 + 9 + 3], &[8, 1, b'1'], "row 1 stores one byte");
        assert_eq!(column.cursor(BLOCK_ROWS as u32).unwrap().title(), b"Python 16");
        assert!(column.cursor(BLOCK_ROWS as u32 + 1).is_none());
    }
}
