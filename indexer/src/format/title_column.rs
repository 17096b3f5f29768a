//! `titles.fc`: every row's title in row order, front-coded, so a prefix
//! listing reads titles one after another instead of walking the fst.
//!
//! The fst finds where a listing starts (one descent); the titles after it
//! are consecutive rows. Walking the fst for each of them decodes a node
//! per byte past the branch point; reading the next front-coded entry is a
//! few comparisons and a copy. Measured in `docs/BENCHMARKS.md` ("A title
//! column").
//!
//! ```text
//! payload = block* offsets
//! block   = entry{BLOCK_ROWS}        (the last block may hold fewer)
//! entry   = shared:varint suffix_len:varint suffix[suffix_len]
//! varint  = LEB128: 7 bits a byte, low bits first, high bit = more
//! offsets = u64 LE per block: where the block starts in the payload
//! ```
//!
//! An entry's title is the first `shared` bytes of the previous row's title
//! followed by `suffix`; the first entry of a block has `shared = 0`, so a
//! reader can start at any block. Both lengths are below 128 for nearly
//! every title and then take a byte each; a namespaced title can be up to
//! [`MAX_FULL_TITLE_BYTES`](super::MAX_FULL_TITLE_BYTES) long, and a length
//! from 128 on takes two. A repeated title costs two bytes.
//!
//! [`TitleColumnWriter`] writes one; [`TitleColumn`] reads one, checking its
//! shape once when it is opened; [`TitleCursor`] walks its rows. Decoding is
//! bounds-checked: a damaged file (which the manifest's CRC catches) makes
//! a cursor stop early, never panic.

use std::io::{self, Write};

/// Rows per block: a cursor starting at row `r` decodes up to
/// `BLOCK_ROWS - 1` entries before it. 16 keeps that under a few hundred
/// instructions and the block offsets at half a byte per row.
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
}

impl<W: Write> TitleColumnWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> TitleColumnWriter<W> {
        TitleColumnWriter { out, written: 0, rows: 0, prev: Vec::with_capacity(256), offsets: Vec::new() }
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

    /// Writes the block offsets and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        for offset in &self.offsets {
            self.out.write_all(&offset.to_le_bytes())?;
        }
        Ok(self.out)
    }
}

/// An opened title column: `rows` entries and their block offsets.
pub struct TitleColumn<D: AsRef<[u8]>> {
    data: D,
    rows: u64,
    /// Where the block offsets start (the end of the entries).
    entries_len: usize,
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
        let table = blocks.checked_mul(8).filter(|&t| t <= bytes.len() as u64).ok_or_else(|| {
            ShapeError(format!("{} bytes cannot hold the block offsets of {rows} rows", bytes.len()))
        })?;
        let entries_len = bytes.len() - table as usize;
        // Each entry takes at least two bytes.
        if rows.saturating_mul(2) > entries_len as u64 {
            return Err(ShapeError(format!("{entries_len} bytes of entries cannot hold {rows} rows")));
        }
        let column = TitleColumn { data, rows, entries_len };
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
