//! `rows.jsf`: every row's `/offsets` answer row, already written as JSON,
//! in row order, so a prefix listing is one copy of consecutive bytes.
//!
//! A listing's rows are consecutive (rows are in title order), and an
//! `/offsets` row is `["title",start,end]` whatever the request. Writing it
//! per request (escaping and validating the title, formatting two numbers)
//! was most of a listing's work; here it is written once, at
//! build time, and a listing of rows `a..b` is the bytes from row `a`'s
//! fragment to row `b`'s. Measured in `docs/BENCHMARKS.md` ("Rows written
//! once").
//!
//! ```text
//! payload   = fragment* positions groups fragments_len
//! fragment  = ["title",start,end],   (JSON, then a comma; title escaped as
//!                                      serde_json escapes strings)
//! positions = u32 LE per row, and one more for the end: where the row's
//!             fragment starts, counted from its group's base
//! groups    = u64 LE per group of GROUP_ROWS positions: the group's base
//! fragments_len = u64 LE: the bytes of all fragments
//! ```
//!
//! `start` is the offset of `<page>`'s `<` and `end` that of `</page>`'s
//! final `>`, as in every `/offsets` answer. [`JsonRowsWriter`] writes one;
//! [`JsonRows`] reads one, checking its shape once when opened. Reads are
//! bounds-checked: a damaged file (which the manifest's CRC catches) gives
//! `None`, never a panic.

use super::title_column::ShapeError;
use std::io::{self, Write};
use std::ops::Range;

/// Rows per group: positions are 4 bytes, relative to their group's 8-byte
/// base (a group's fragments stay far below 4 GiB).
pub const GROUP_ROWS: u64 = 1 << 16;

/// Appends one row's fragment, `["title",start,end],`, to `out`.
///
/// ```
/// let mut out = Vec::new();
/// wikidex_indexer::format::json_rows::write_fragment(&mut out, "Say \"hi\"", 10, 99);
/// assert_eq!(out, br#"["Say \"hi\"",10,99],"#);
/// ```
pub fn write_fragment(out: &mut Vec<u8>, title: &str, start: u64, end: u64) {
    out.push(b'[');
    serde_json::to_writer(&mut *out, title).expect("writing to a Vec cannot fail");
    out.push(b',');
    out.extend_from_slice(itoa::Buffer::new().format(start).as_bytes());
    out.push(b',');
    out.extend_from_slice(itoa::Buffer::new().format(end).as_bytes());
    out.extend_from_slice(b"],");
}

/// Writes the fragments of every row, in row order.
///
/// ```
/// use wikidex_indexer::format::{JsonRows, JsonRowsWriter};
/// let mut w = JsonRowsWriter::new(Vec::new());
/// w.push("Pyre", 0, 99)?;
/// w.push("Python", 100, 199)?;
/// let bytes = w.finish()?;
/// let rows = JsonRows::new(&bytes[..], 2).expect("a valid file");
/// assert_eq!(rows.fragments(1..2), Some(&br#"["Python",100,199],"#[..]));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct JsonRowsWriter<W: Write> {
    out: W,
    written: u64,
    positions: Vec<u32>,
    groups: Vec<u64>,
    fragment: Vec<u8>,
}

impl<W: Write> JsonRowsWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> JsonRowsWriter<W> {
        JsonRowsWriter {
            out,
            written: 0,
            positions: Vec::new(),
            groups: Vec::new(),
            fragment: Vec::with_capacity(512),
        }
    }

    fn mark(&mut self) -> io::Result<()> {
        if (self.positions.len() as u64).is_multiple_of(GROUP_ROWS) {
            self.groups.push(self.written);
        }
        let base = *self.groups.last().expect("a group was just started");
        let position = u32::try_from(self.written - base)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a group of rows over 4 GiB"))?;
        self.positions.push(position);
        Ok(())
    }

    /// Appends the next row: its title and its page's first and last byte.
    pub fn push(&mut self, title: &str, start: u64, end: u64) -> io::Result<()> {
        self.mark()?;
        self.fragment.clear();
        write_fragment(&mut self.fragment, title, start, end);
        self.out.write_all(&self.fragment)?;
        self.written += self.fragment.len() as u64;
        Ok(())
    }

    /// Writes the positions, the group bases and the length; returns the
    /// inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.mark()?;
        let mut table = Vec::with_capacity(self.positions.len() * 4 + self.groups.len() * 8 + 8);
        for position in &self.positions {
            table.extend_from_slice(&position.to_le_bytes());
        }
        for base in &self.groups {
            table.extend_from_slice(&base.to_le_bytes());
        }
        table.extend_from_slice(&self.written.to_le_bytes());
        self.out.write_all(&table)?;
        Ok(self.out)
    }
}

/// An opened `rows.jsf`: the fragments of `rows` rows.
pub struct JsonRows<D: AsRef<[u8]>> {
    data: D,
    rows: u64,
    fragments_len: usize,
    groups_at: usize,
}

impl<D: AsRef<[u8]>> JsonRows<D> {
    /// Opens `data` (a payload without its footer) as the fragments of
    /// `rows` rows; checks that the lengths add up and the first group
    /// starts at 0.
    pub fn new(data: D, rows: u64) -> Result<JsonRows<D>, ShapeError> {
        let bytes = data.as_ref();
        let len = bytes.len() as u64;
        let bad = |what: String| ShapeError(format!("{what} ({len} bytes for {rows} rows)"));
        let tail = bytes.len().checked_sub(8).ok_or_else(|| bad("too short for its length field".into()))?;
        let fragments_len = u64::from_le_bytes(bytes[tail..].try_into().expect("8 bytes"));
        let groups = rows / GROUP_ROWS + 1;
        let table = (rows + 1) * 4 + groups * 8 + 8;
        if fragments_len.checked_add(table) != Some(len) {
            return Err(bad(format!("{fragments_len} bytes of fragments and the tables do not add up")));
        }
        let groups_at = (fragments_len + (rows + 1) * 4) as usize;
        let json = JsonRows { data, rows, fragments_len: fragments_len as usize, groups_at };
        if json.group_base(0) != Some(0) {
            return Err(ShapeError("its first group does not start at 0".into()));
        }
        Ok(json)
    }

    /// Number of rows.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The bytes it was opened from.
    pub fn data(&self) -> &D {
        &self.data
    }

    fn group_base(&self, group: u64) -> Option<u64> {
        let at = self.groups_at + group as usize * 8;
        Some(u64::from_le_bytes(self.data.as_ref().get(at..at + 8)?.try_into().ok()?))
    }

    /// Where the fragment of `row` starts (`row == rows`: where the last
    /// one ends).
    fn position(&self, row: u64) -> Option<usize> {
        if row > self.rows {
            return None;
        }
        let at = self.fragments_len + row as usize * 4;
        let relative = u32::from_le_bytes(self.data.as_ref().get(at..at + 4)?.try_into().ok()?);
        let position = self.group_base(row / GROUP_ROWS)?.checked_add(u64::from(relative))?;
        (position <= self.fragments_len as u64).then_some(position as usize)
    }

    /// The fragments of `rows`, back to back, each followed by a comma;
    /// `None` if `rows` goes past the last row (or the file is damaged).
    pub fn fragments(&self, rows: Range<u32>) -> Option<&[u8]> {
        let from = self.position(u64::from(rows.start))?;
        let to = self.position(u64::from(rows.end))?;
        self.data.as_ref().get(from..to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(rows: &[(String, u64, u64)]) -> Vec<u8> {
        let mut w = JsonRowsWriter::new(Vec::new());
        for (title, start, end) in rows {
            w.push(title, *start, *end).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn fragments_are_serde_json_rows_with_a_comma() {
        let rows = vec![("a\"b\\c\u{1}é".to_string(), 0, 1), ("".to_string(), u64::MAX - 1, u64::MAX)];
        let bytes = file(&rows);
        let json = JsonRows::new(&bytes[..], 2).unwrap();
        for (i, (title, start, end)) in rows.iter().enumerate() {
            let mut want = serde_json::to_vec(&(title, start, end)).unwrap();
            want.push(b',');
            assert_eq!(json.fragments(i as u32..i as u32 + 1), Some(&want[..]));
        }
        assert_eq!(json.fragments(2..2), Some(&b""[..]));
        assert_eq!(json.fragments(1..3), None);
        assert_eq!(json.fragments(3..3), None);
    }

    #[test]
    fn rows_across_groups_are_found() {
        let rows: Vec<_> = (0..GROUP_ROWS * 2 + 5).map(|i| (format!("t{i}"), i, i + 1)).collect();
        let bytes = file(&rows);
        let json = JsonRows::new(&bytes[..], rows.len() as u64).unwrap();
        for row in [0, GROUP_ROWS - 1, GROUP_ROWS, GROUP_ROWS + 1, 2 * GROUP_ROWS, 2 * GROUP_ROWS + 4] {
            let (title, start, end) = &rows[row as usize];
            let want = format!("[\"{title}\",{start},{end}],");
            assert_eq!(json.fragments(row as u32..row as u32 + 1), Some(want.as_bytes()), "row {row}");
        }
        let all = json.fragments(0..rows.len() as u32).unwrap();
        assert_eq!(all.len(), bytes.len() - (rows.len() + 1) * 4 - 3 * 8 - 8);
    }

    #[test]
    fn an_empty_file_has_no_rows() {
        let bytes = file(&[]);
        let json = JsonRows::new(&bytes[..], 0).unwrap();
        assert_eq!(json.fragments(0..0), Some(&b""[..]));
        assert!(JsonRows::new(&bytes[..], 1).is_err(), "a row count the tables do not hold");
    }

    proptest! {
        #[test]
        fn damaged_bytes_never_panic(
            rows in proptest::collection::vec(("[a\"é]{0,6}", 0u64..1000), 0..40),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
            cut in any::<usize>(),
        ) {
            let rows: Vec<_> = rows.into_iter().map(|(t, s)| (t, s, s + 10)).collect();
            let mut bytes = file(&rows);
            for (at, xor) in flips {
                let n = bytes.len();
                bytes[at % n] ^= xor;
            }
            bytes.truncate(bytes.len() - cut % 4);
            if let Ok(json) = JsonRows::new(&bytes[..], rows.len() as u64) {
                let n = rows.len() as u32;
                for a in 0..=n {
                    let _ = json.fragments(a..n);
                    let _ = json.fragments(a..a + 1);
                }
            }
        }
    }
}
