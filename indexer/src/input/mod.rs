//! Reading the dump as it was downloaded: plain XML or bzip2.
//!
//! This module owns everything between the file on disk and the XML bytes:
//! telling what kind of file it is from its first bytes ([`sniff`]), decoding
//! a `.bz2` on all cores in file order with bounded memory ([`bz2`]), and
//! reading the `-multistream-index.txt.bz2` that Wikimedia ships beside a
//! multistream dump ([`companion`]). It never prints; every error says where
//! in which file the problem is and what to do about it.

pub mod bz2;
pub mod companion;

pub use bz2::{DecodeError, DecodeOptions, Decoded, Outcome, decode, find_streams, is_multistream};
pub use companion::{check_starts, companion_name, companion_path, read_companion};

use std::io;
use std::path::PathBuf;

/// What kind of file a dump is, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputKind {
    /// Not a compressed format we recognize: read as XML (the XML scanner
    /// judges whether it is a MediaWiki export).
    Xml,
    /// A bzip2 file, single-stream or multistream.
    Bzip2,
}

/// A problem with an input file that is not about its XML.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file is in a format wikidex does not read.
    #[error("the file is {format}, which wikidex does not read: {advice}")]
    Unsupported {
        /// What the file is ("gzip-compressed").
        format: &'static str,
        /// What to do instead.
        advice: &'static str,
    },
    /// An operating-system call on `path` failed.
    #[error("{path}: failed to {action}: {cause}")]
    Io {
        /// The file the call was about.
        path: PathBuf,
        /// What we were doing, as a verb phrase ("open the companion index").
        action: &'static str,
        /// The underlying error.
        cause: io::Error,
    },
    /// A line of the companion index is not `offset:page_id:title`.
    #[error(
        "{path}: line {line}: {message}; the companion index is damaged: fetch it again, or index without it"
    )]
    CompanionLine {
        /// The companion index file.
        path: PathBuf,
        /// 1-based line number in the decompressed text.
        line: u64,
        /// What is wrong with the line.
        message: String,
    },
    /// The companion index lists an offset where the dump has no bz2 stream.
    #[error(
        "the companion index does not match the dump: offset {offset} {reason}; use the -index.txt.bz2 downloaded with this dump, or index without it"
    )]
    CompanionMismatch {
        /// The offset listed in the companion index.
        offset: u64,
        /// Why it does not fit ("is not the start of a bz2 stream").
        reason: String,
    },
    /// The companion index's own bz2 data could not be decoded.
    #[error("{path}: {cause}")]
    CompanionDecode {
        /// The companion index file.
        path: PathBuf,
        /// What the decoder found.
        cause: DecodeError,
    },
}

/// Judges what kind of file starts with `head` (its first bytes; 16 are
/// plenty, fewer are fine).
///
/// A bzip2 header (`BZh1`…`BZh9`, then the block or end-of-stream magic)
/// makes [`InputKind::Bzip2`]; so does a header cut short by the end of
/// `head`, or `BZh1`…`BZh9` followed by anything, so that a damaged `.bz2`
/// is reported by the decoder with an offset rather than as bad XML.
/// Formats wikidex does not read (gzip, zstd, xz, 7-Zip, zip, UTF-16) are
/// an [`InputError::Unsupported`] saying what to do; anything else is
/// [`InputKind::Xml`].
pub fn sniff(head: &[u8]) -> Result<InputKind, InputError> {
    const UNSUPPORTED: &[(&[u8], &str, &str)] = &[
        (&[0x1f, 0x8b], "gzip-compressed", "decompress it with `gunzip -k FILE`, or download the .xml.bz2"),
        (
            &[0x28, 0xb5, 0x2f, 0xfd],
            "zstd-compressed",
            "decompress it with `zstd -d FILE`, or download the .xml.bz2",
        ),
        (
            &[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
            "xz-compressed",
            "decompress it with `xz -dk FILE`, or download the .xml.bz2",
        ),
        (
            &[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c],
            "a 7-Zip archive",
            "extract it with `7z x FILE`, or download the .xml.bz2",
        ),
        (
            &[0x50, 0x4b, 0x03, 0x04],
            "a zip archive",
            "extract it with `unzip FILE`, or download the .xml.bz2",
        ),
        (
            &[0xff, 0xfe],
            "UTF-16 text",
            "MediaWiki dumps are UTF-8; convert it with `iconv -f UTF-16 -t UTF-8 FILE > FILE.xml`, or download the dump again",
        ),
        (
            &[0xfe, 0xff],
            "UTF-16 text",
            "MediaWiki dumps are UTF-8; convert it with `iconv -f UTF-16 -t UTF-8 FILE > FILE.xml`, or download the dump again",
        ),
    ];
    if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
        return Ok(InputKind::Bzip2);
    }
    if bz2::header_at(head, 0) != bz2::Header::Invalid && !head.is_empty() {
        // "B", "BZ" or "BZh": a bz2 file cut after a few bytes.
        return Ok(InputKind::Bzip2);
    }
    for &(magic, format, advice) in UNSUPPORTED {
        if head.starts_with(magic) {
            return Err(InputError::Unsupported { format, advice });
        }
    }
    Ok(InputKind::Xml)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The bytes of `/work/shared/data/NAME` (the repository's shared test data).
    pub(super) fn sample(name: &str) -> Vec<u8> {
        let path = format!("{}/../../shared/data/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!("test data {path} is missing ({e}): these tests need the shared enwiki samples")
        })
    }

    /// The sample dump decompressed by the bzip2 crate's own reader: the reference.
    pub(super) fn reference() -> &'static [u8] {
        static XML: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        XML.get_or_init(|| {
            let mut xml = Vec::new();
            let file = sample("enwiki-sample.xml.bz2");
            bzip2::read::MultiBzDecoder::new(&file[..]).read_to_end(&mut xml).unwrap();
            assert!(xml.len() > 6_000_000 && xml.ends_with(b"</mediawiki>\n"), "{}", xml.len());
            xml
        })
    }

    #[test]
    fn sniff_recognizes_formats() {
        let kind = |b: &[u8]| sniff(b).unwrap();
        assert_eq!(kind(b"BZh91AY&SY\x01\x02"), InputKind::Bzip2);
        assert_eq!(kind(b"BZh1\x17\x72\x45\x38\x50\x90\0\0\0\0"), InputKind::Bzip2);
        assert_eq!(kind(b"BZh9"), InputKind::Bzip2);
        assert_eq!(kind(b"BZ"), InputKind::Bzip2);
        assert_eq!(kind(b"<mediawiki xmlns="), InputKind::Xml);
        assert_eq!(kind(b"\xef\xbb\xbf<mediawiki"), InputKind::Xml);
        assert_eq!(kind(b"BZh0"), InputKind::Xml);
        assert_eq!(kind(b"BZip"), InputKind::Xml);
        assert_eq!(kind(b""), InputKind::Xml);
        let cases: &[(&[u8], &str, &str)] = &[
            (b"\x1f\x8b\x08\x00", "gzip", "gunzip -k"),
            (b"\x28\xb5\x2f\xfd\x00", "zstd", "zstd -d"),
            (b"\xfd7zXZ\x00\x00", "xz", "xz -dk"),
            (b"7z\xbc\xaf\x27\x1c\x00", "7-Zip", "7z x"),
            (b"PK\x03\x04", "zip", "unzip"),
            (b"\xff\xfe<\x00m\x00", "UTF-16", "iconv"),
            (b"\xfe\xff\x00<\x00m", "UTF-16", "iconv"),
        ];
        for &(head, what, todo) in cases {
            let e = sniff(head).unwrap_err();
            assert!(matches!(e, InputError::Unsupported { .. }), "{e:?}");
            let msg = e.to_string();
            assert!(msg.contains(what) && msg.contains(todo), "{msg}");
        }
    }
}
