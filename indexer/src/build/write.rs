//! Writing `titles.fc` and the fixed-width columns.

use crate::error::{Error, Result};
use crate::format::{self, FileKind, IndexWriter};
use crate::scan::{RawPage, ScanResult};
use rayon::prelude::*;
use std::io::Write;

/// Writes `titles.fc`, every row's title front-coded in row order;
/// returns the number of distinct titles and the entry.
pub(super) fn write_titles(
    writer: &IndexWriter,
    scanned: &ScanResult,
    rows: &[RawPage],
) -> Result<(u64, (String, format::FileEntry))> {
    let sink = writer.file(format::TITLE_COLUMN, FileKind::TitleColumn)?;
    let path = sink.path().to_path_buf();
    let io_err = |e| Error::io(&path, "write", e);
    let mut column = format::TitleColumnWriter::new(sink);
    let mut prev: Option<&[u8]> = None;
    let mut titles = 0u64;
    for page in rows {
        let title = scanned.title(page);
        if prev != Some(title) {
            titles += 1;
            prev = Some(title);
        }
        column.push(title).map_err(io_err)?;
    }
    Ok((titles, column.finish().map_err(io_err)?.finish()?))
}

/// Writes `rows.jsf`, every row's `/offsets` row as JSON, in row order.
pub(super) fn write_json_rows(
    writer: &IndexWriter,
    scanned: &ScanResult,
    rows: &[RawPage],
) -> Result<(String, format::FileEntry)> {
    let sink = writer.file(format::JSON_ROWS, FileKind::JsonRows)?;
    let path = sink.path().to_path_buf();
    let io_err = |e| Error::io(&path, "write", e);
    let mut json = format::JsonRowsWriter::new(sink);
    for page in rows {
        let title = std::str::from_utf8(scanned.title(page)).map_err(|_| {
            io_err(std::io::Error::new(std::io::ErrorKind::InvalidData, "a title that is not UTF-8"))
        })?;
        json.push(title, page.start, format::page_end(page.start, page.len)).map_err(io_err)?;
    }
    json.finish().map_err(io_err)?.finish()
}

/// Writes `targets.fst`: the target title of every redirect to a page not
/// in the dump, keyed by its row, so the server never reads the dump for
/// `fields=redirect`.
pub(super) fn write_missing_targets(
    writer: &IndexWriter,
    scanned: &ScanResult,
    rows: &[RawPage],
    redirects: &[u32],
) -> Result<(String, format::FileEntry)> {
    let sink = writer.file(format::REDIRECT_TARGETS, FileKind::RedirectTargets)?;
    let path = sink.path().to_path_buf();
    let fst_err = |source| super::fst_error(&path, source);
    let mut set = fst::SetBuilder::new(sink).map_err(fst_err)?;
    let mut key = Vec::new();
    for (row, page) in rows.iter().enumerate() {
        if redirects[row] == format::TARGET_MISSING
            && let Some(target) = scanned.redirect(page)
        {
            key.clear();
            key.extend_from_slice(&(row as u32).to_be_bytes());
            key.extend_from_slice(target);
            set.insert(&key).map_err(fst_err)?;
        }
    }
    set.into_inner().map_err(fst_err)?.finish()
}

/// Writes the fixed-width columns, in parallel, each through a buffer.
pub(super) fn write_columns(
    writer: &IndexWriter,
    rows: &[RawPage],
    redirects: &[u32],
) -> Result<Vec<(String, format::FileEntry)>> {
    type Encode<'a> = &'a (dyn Fn(usize, &mut Vec<u8>) + Sync);
    let column = |name: &str, kind: FileKind, encode: Encode<'_>| {
        let mut sink = writer.file(name, kind)?;
        let path = sink.path().to_path_buf();
        let mut buf = Vec::with_capacity(1 << 20);
        for i in 0..rows.len() {
            encode(i, &mut buf);
            if buf.len() >= (1 << 20) - 8 {
                sink.write_all(&buf).map_err(|e| Error::io(&path, "write", e))?;
                buf.clear();
            }
        }
        sink.write_all(&buf).map_err(|e| Error::io(&path, "write", e))?;
        sink.finish()
    };
    let columns: [(&str, FileKind, Encode<'_>); 5] = [
        (format::STARTS, FileKind::Starts, &|i, b| {
            b.extend_from_slice(&rows[i].start.to_le_bytes()[..format::START_BYTES])
        }),
        (format::LENGTHS, FileKind::Lengths, &|i, b| b.extend_from_slice(&rows[i].len.to_le_bytes())),
        (format::NAMESPACES, FileKind::Namespaces, &|i, b| b.extend_from_slice(&rows[i].ns.to_le_bytes())),
        (format::REDIRECTS, FileKind::Redirects, &|i, b| b.extend_from_slice(&redirects[i].to_le_bytes())),
        (format::IDS, FileKind::Ids, &|i, b| b.extend_from_slice(&rows[i].id.to_le_bytes())),
    ];
    columns.par_iter().map(|(name, kind, encode)| column(name, *kind, *encode)).collect()
}
