//! The 32-byte footer at the end of every binary index file.
//!
//! ```text
//! offset  size  field
//!      0     8  MAGIC  "WIKIDEX\0"
//!      8     4  format version          u32 LE
//!     12     4  file kind               4 ASCII bytes, e.g. "TCOL"
//!     16     8  payload length          u64 LE (the bytes before the footer)
//!     24     4  payload CRC-32          u32 LE
//!     28     4  CRC-32 of bytes 0..28   u32 LE
//! ```
//!
//! Putting the footer last keeps the payload at offset 0 of the file, so a
//! memory map of it is page-aligned and needs no copying.

use super::{FORMAT_VERSION, MAGIC, OLDEST_SUPPORTED_VERSION};
use crate::error::{Error, Result};
use std::path::Path;

/// Length of a [`Footer`] on disk.
pub const FOOTER_LEN: usize = 32;

/// What a binary index file holds; stored in its footer so a file renamed
/// into the wrong place is caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// `starts.u48`.
    Starts,
    /// `lengths.u32`.
    Lengths,
    /// `ns.i16`.
    Namespaces,
    /// `redirects.u32`.
    Redirects,
    /// `folded.fst`.
    FoldedFst,
    /// `folded.u32`.
    FoldedRows,
    /// `titles.fc`.
    TitleColumn,
    /// `rows.jsf`.
    JsonRows,
    /// `ids.u32`.
    Ids,
    /// `targets.fst`.
    RedirectTargets,
    /// `scores.u16`.
    Scores,
    /// `ranked.u32`.
    RankedLists,
}

impl FileKind {
    /// The four tag bytes stored in the footer.
    pub fn tag(self) -> [u8; 4] {
        match self {
            FileKind::Starts => *b"STRT",
            FileKind::Lengths => *b"LENS",
            FileKind::Namespaces => *b"NSPC",
            FileKind::Redirects => *b"RDIR",
            FileKind::FoldedFst => *b"FFST",
            FileKind::FoldedRows => *b"FROW",
            FileKind::TitleColumn => *b"TCOL",
            FileKind::JsonRows => *b"JROW",
            FileKind::Ids => *b"PGID",
            FileKind::RedirectTargets => *b"RTGT",
            FileKind::Scores => *b"SCOR",
            FileKind::RankedLists => *b"RANK",
        }
    }
}

/// A decoded footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// The format version the file was written with.
    pub version: u32,
    /// What the file holds.
    pub kind: [u8; 4],
    /// Length of the payload before the footer.
    pub payload_len: u64,
    /// CRC-32 of the payload.
    pub crc: u32,
}

impl Footer {
    /// A footer for a payload of `kind` written by this build.
    pub fn new(kind: FileKind, payload_len: u64, crc: u32) -> Footer {
        Footer { version: FORMAT_VERSION, kind: kind.tag(), payload_len, crc }
    }

    /// The footer's 32 bytes.
    ///
    /// ```
    /// use wikidex_indexer::format::{FileKind, Footer};
    /// let payload = [7u8; 16];
    /// let f = Footer::new(FileKind::Starts, 16, crc32fast::hash(&payload));
    /// let mut file = payload.to_vec();
    /// file.extend_from_slice(&f.encode());
    /// assert_eq!(Footer::decode(&file, "starts.u48".as_ref())?, f);
    /// # Ok::<(), wikidex_indexer::Error>(())
    /// ```
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut b = [0u8; FOOTER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&self.kind);
        b[16..24].copy_from_slice(&self.payload_len.to_le_bytes());
        b[24..28].copy_from_slice(&self.crc.to_le_bytes());
        let own = crc32fast::hash(&b[0..28]);
        b[28..32].copy_from_slice(&own.to_le_bytes());
        b
    }

    /// Decodes and checks the footer at the end of `file` (the whole file's
    /// bytes): magic, its own CRC, a supported version, and that the payload
    /// length accounts for every byte.
    pub fn decode(file: &[u8], path: &Path) -> Result<Footer> {
        let Some(at) = file.len().checked_sub(FOOTER_LEN) else {
            return Err(Error::corrupt(
                path,
                format!("{} bytes is too short to hold the {FOOTER_LEN}-byte footer", file.len()),
            ));
        };
        let b = &file[at..];
        if b[0..8] != MAGIC {
            return Err(Error::corrupt(path, "no wikidex footer (wrong magic bytes)"));
        }
        let stored = u32::from_le_bytes(b[28..32].try_into().unwrap());
        if crc32fast::hash(&b[0..28]) != stored {
            return Err(Error::corrupt(path, "the footer's own checksum does not match"));
        }
        let version = u32::from_le_bytes(b[8..12].try_into().unwrap());
        if !(OLDEST_SUPPORTED_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::Version {
                path: path.to_path_buf(),
                expected: FORMAT_VERSION,
                oldest: OLDEST_SUPPORTED_VERSION,
                got: version,
            });
        }
        let footer = Footer {
            version,
            kind: b[12..16].try_into().unwrap(),
            payload_len: u64::from_le_bytes(b[16..24].try_into().unwrap()),
            crc: u32::from_le_bytes(b[24..28].try_into().unwrap()),
        };
        if footer.payload_len != at as u64 {
            return Err(Error::corrupt(
                path,
                format!(
                    "footer says the payload is {} bytes but the file holds {at} (truncated or appended to)",
                    footer.payload_len
                ),
            ));
        }
        Ok(footer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(footer: &Footer, payload: &[u8]) -> Vec<u8> {
        let mut v = payload.to_vec();
        v.extend_from_slice(&footer.encode());
        v
    }

    #[test]
    fn round_trip() {
        let f = Footer::new(FileKind::TitleColumn, 3, 7);
        let file = file_with(&f, b"abc");
        assert_eq!(Footer::decode(&file, Path::new("x")).unwrap(), f);
    }

    #[test]
    fn rejects_every_single_byte_flip_in_the_footer() {
        let f = Footer::new(FileKind::Lengths, 3, 7);
        let file = file_with(&f, b"abc");
        for i in 3..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x01;
            assert!(Footer::decode(&bad, Path::new("x")).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn rejects_short_truncated_and_future_files() {
        assert!(Footer::decode(b"short", Path::new("x")).is_err());
        let f = Footer::new(FileKind::Lengths, 3, 7);
        let file = file_with(&f, b"abc");
        assert!(Footer::decode(&file[1..], Path::new("x")).is_err());
        let future = Footer { version: FORMAT_VERSION + 1, ..f };
        let err = Footer::decode(&file_with(&future, b"abc"), Path::new("x")).unwrap_err();
        assert!(matches!(err, Error::Version { got, .. } if got == FORMAT_VERSION + 1));
    }
}
