//! The companion index of a multistream dump.
//!
//! Wikimedia ships `X-multistream-index.txt.bz2` beside
//! `X-multistream.xml.bz2`: one line `offset:page_id:title` per page, where
//! offset is where the bz2 stream holding the page starts in the dump. Its
//! distinct offsets are the dump's stream starts (all but the first, which
//! holds the `<siteinfo>`, and the last, which holds `</mediawiki>`), so
//! with it [`decode`](super::decode) need not scan the dump for stream
//! headers. Nothing depends on it being right — decoding is sound against
//! wrong candidates — but an index for another dump is refused by
//! [`check_starts`], since it would make decoding slow.

use super::bz2::{self, DecodeOptions};
use super::{InputError, InputKind, sniff};
use memmap2::Mmap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// The companion index beside a multistream dump, if it exists.
///
/// `X-multistream.xml.bz2` has `X-multistream-index.txt.bz2`; a dump split
/// in parts, `X-multistream3.xml-p1p41242.bz2`, has
/// `X-multistream-index3.txt-p1p41242.bz2`. A decompressed `….txt` is
/// accepted when the `.txt.bz2` is absent.
pub fn companion_path(dump: &Path) -> Option<PathBuf> {
    let index = companion_name(dump)?;
    let name = index.file_name()?.to_str()?;
    let plain = name.strip_suffix(".bz2").map(|n| dump.with_file_name(n));
    [Some(index.clone()), plain].into_iter().flatten().find(|p| p.is_file())
}

/// Where the companion index of a multistream dump belongs, by Wikimedia's
/// naming, whether or not it exists: `None` for a name without
/// `multistream`.
///
/// ```
/// use std::path::Path;
/// use wikidex_indexer::input::companion_name;
/// let dump = Path::new("enwiki-20260101-pages-articles-multistream.xml.bz2");
/// assert_eq!(
///     companion_name(dump).unwrap(),
///     Path::new("enwiki-20260101-pages-articles-multistream-index.txt.bz2")
/// );
/// assert!(companion_name(Path::new("enwiki.xml.bz2")).is_none());
/// ```
pub fn companion_name(dump: &Path) -> Option<PathBuf> {
    let name = dump.file_name()?.to_str()?;
    let at = name.rfind("multistream")?;
    let (head, rest) = name.split_at(at + "multistream".len());
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let tail = rest[digits..].strip_prefix(".xml")?;
    Some(dump.with_file_name(format!("{head}-index{}.txt{tail}", &rest[..digits])))
}

/// Reads a companion index (bz2-compressed or plain text) and returns its
/// distinct stream offsets, ascending.
pub fn read_companion(path: &Path) -> Result<Vec<u64>, InputError> {
    let io = |action| move |source| InputError::Io { path: path.to_owned(), action, cause: source };
    let file = File::open(path).map_err(io("open the companion index"))?;
    let size = file.metadata().map_err(io("read the metadata of the companion index"))?.len();
    let mut parser = Lines { path, line: 0, partial: Vec::new(), offsets: Vec::new() };
    if size > 0 {
        // SAFETY: the map is only read; like any reader of a file, we see
        // garbage (never undefined behaviour in safe code reading bytes)
        // if the file is truncated or rewritten meanwhile.
        let map = unsafe { Mmap::map(&file) }.map_err(io("memory-map the companion index"))?;
        match sniff(&map[..map.len().min(16)])? {
            InputKind::Bzip2 => {
                let cancel = AtomicBool::new(false);
                let starts = bz2::find_streams(&map);
                bz2::decode(&map, &starts, &DecodeOptions::new(&cancel), |piece| parser.feed(&piece.data))
                    .map_err(|e| match e.into_sink() {
                        Ok(e) => e,
                        Err(source) => InputError::CompanionDecode { path: path.to_owned(), cause: source },
                    })?;
            }
            InputKind::Xml => parser.feed(&map)?,
        }
    }
    parser.finish()
}

/// Line-by-line parser of `offset:page_id:title`, fed in pieces.
struct Lines<'a> {
    path: &'a Path,
    /// Lines parsed so far.
    line: u64,
    /// The start of a line whose end has not been fed yet.
    partial: Vec<u8>,
    /// Offsets seen, without consecutive repeats.
    offsets: Vec<u64>,
}

impl Lines<'_> {
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), InputError> {
        while let Some(nl) = memchr::memchr(b'\n', bytes) {
            if self.partial.is_empty() {
                self.parse(&bytes[..nl])?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&bytes[..nl]);
                self.parse(&line)?;
            }
            bytes = &bytes[nl + 1..];
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<u64>, InputError> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.parse(&line)?;
        }
        if self.offsets.is_empty() {
            return Err(self.error("the companion index is empty"));
        }
        self.offsets.sort_unstable();
        self.offsets.dedup();
        Ok(self.offsets)
    }

    fn parse(&mut self, line: &[u8]) -> Result<(), InputError> {
        self.line += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut fields = line.splitn(3, |&b| b == b':');
        let (offset, id, title) = (fields.next(), fields.next(), fields.next());
        let number = |f: Option<&[u8]>| {
            let f = f.filter(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))?;
            std::str::from_utf8(f).ok()?.parse::<u64>().ok()
        };
        match (number(offset), number(id), title) {
            (Some(offset), Some(_), Some(title)) if !title.is_empty() => {
                if self.offsets.last() != Some(&offset) {
                    self.offsets.push(offset);
                }
                Ok(())
            }
            _ => {
                let shown: String = String::from_utf8_lossy(line).chars().take(80).collect();
                Err(self.error(&format!("expected `offset:page_id:title`, found {shown:?}")))
            }
        }
    }

    fn error(&self, message: &str) -> InputError {
        InputError::CompanionLine { path: self.path.to_owned(), line: self.line, message: message.to_owned() }
    }
}

/// The candidate stream starts of the dump in `data` given its companion
/// index's `offsets`: 0, the offsets, and the stream headers found by
/// scanning after the last offset (the index does not list the stream
/// holding `</mediawiki>`). Fails if an offset is not a stream start
/// inside the file.
pub fn check_starts(data: &[u8], offsets: &[u64]) -> Result<Vec<usize>, InputError> {
    let mut starts = Vec::with_capacity(offsets.len() + 2);
    starts.push(0);
    for &offset in offsets {
        let at = usize::try_from(offset).ok().filter(|&at| at < data.len());
        let reason = match at {
            Some(at) if bz2::is_stream_start(data, at) => {
                starts.push(at);
                continue;
            }
            Some(_) => "is not the start of a bz2 stream".to_owned(),
            None => format!("is past the end of the dump ({} bytes)", data.len()),
        };
        return Err(InputError::CompanionMismatch { offset, reason });
    }
    starts.sort_unstable();
    starts.dedup();
    let last = *starts.last().unwrap_or(&0);
    starts.extend(bz2::find_streams(&data[last..]).into_iter().skip(1).map(|at| last + at));
    Ok(starts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::DecodeError;
    use crate::input::tests::{reference, sample};
    use std::convert::Infallible;
    use std::io::Write;

    const OFFSETS: [u64; 3] = [638, 575005, 1617601];

    fn sample_path(name: &str) -> PathBuf {
        let path = PathBuf::from(format!("{}/../../shared/data/{name}", env!("CARGO_MANIFEST_DIR")));
        assert!(
            path.is_file(),
            "test data {} is missing: these tests need the shared enwiki samples",
            path.display()
        );
        path
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn bz2(text: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn the_sample_companion_matches_its_dump() {
        let offsets = read_companion(&sample_path("enwiki-sample-multistream-index.txt.bz2")).unwrap();
        assert_eq!(offsets, OFFSETS);
        let dump = sample("enwiki-sample-multistream.xml.bz2");
        let starts = check_starts(&dump, &offsets).unwrap();
        assert_eq!(starts, [0, 638, 575005, 1617601, 1699951]);
        let mut xml = Vec::new();
        let cancel = AtomicBool::new(false);
        bz2::decode(&dump, &starts, &DecodeOptions::new(&cancel), |d| {
            xml.extend_from_slice(&d.data);
            Ok::<(), Infallible>(())
        })
        .unwrap();
        assert!(xml == reference());
        // Fewer offsets are fine: the rest is scanned or decoded in sequence.
        assert_eq!(check_starts(&dump, &OFFSETS[2..]).unwrap(), [0, 1617601, 1699951]);
        assert_eq!(check_starts(&dump, &[]).unwrap(), [0, 638, 575005, 1617601, 1699951]);
    }

    #[test]
    fn a_companion_for_another_dump_is_refused() {
        let dump = sample("enwiki-sample-multistream.xml.bz2");
        for (offsets, bad) in
            [([638, 575006, 1617601], 575006), ([638, 575004, 1617601], 575004), ([1, 638, 9_999_999], 1)]
        {
            match check_starts(&dump, &offsets) {
                Err(e @ InputError::CompanionMismatch { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains(&format!("offset {bad} is not the start of a bz2 stream")), "{msg}");
                }
                other => panic!("{other:?}"),
            }
        }
        let e = check_starts(&dump, &[638, 9_999_999]).unwrap_err();
        assert!(e.to_string().contains("offset 9999999 is past the end of the dump (1700006 bytes)"), "{e}");
    }

    #[test]
    fn malformed_lines_are_refused_with_their_number() {
        let dir = tempfile::tempdir().unwrap();
        let good = b"638:10:AccessibleComputing\r\n638:12:Talk:Anarchism: a: b\n575005:13:X\n";
        for (name, text, result) in [
            ("good.txt", &good[..], Ok(vec![638, 575005])),
            ("good-no-newline.txt", b"5:1:A\n5:2:B\n4:3:C", Ok(vec![4, 5])),
            ("empty-title.txt", b"5:1:A\n5:2:\n", Err(2)),
            ("no-id.txt", b"5:1:A\n5:2:B\n6:C\n", Err(3)),
            ("not-a-number.txt", b"x5:1:A\n", Err(1)),
            ("blank-line.txt", b"5:1:A\n\n5:2:B\n", Err(2)),
            ("negative.txt", b"-5:1:A\n", Err(1)),
            ("too-big.txt", b"99999999999999999999:1:A\n", Err(1)),
            ("empty.txt", b"", Err(0)),
        ] {
            let plain = write(dir.path(), name, text);
            let packed = write(dir.path(), &format!("{name}.bz2"), &bz2(text));
            for path in [plain, packed] {
                match (read_companion(&path), &result) {
                    (Ok(offsets), Ok(want)) => assert_eq!(&offsets, want, "{name}"),
                    (Err(e @ InputError::CompanionLine { line, .. }), Err(want)) if line == *want => {
                        let msg = e.to_string();
                        assert!(
                            msg.contains(&path.display().to_string())
                                && msg.contains(&format!("line {want}"))
                        );
                    }
                    (other, _) => panic!("{name}: {other:?}"),
                }
            }
        }
        // A damaged compressed index, and a missing one.
        let mut packed = bz2(good);
        packed.truncate(packed.len() - 3);
        let path = write(dir.path(), "cut.txt.bz2", &packed);
        assert!(matches!(
            read_companion(&path),
            Err(InputError::CompanionDecode { cause: DecodeError::Truncated { .. }, .. })
        ));
        let e = read_companion(&dir.path().join("absent.txt.bz2")).unwrap_err();
        assert!(matches!(e, InputError::Io { .. }), "{e:?}");
    }

    #[test]
    fn the_companion_is_found_beside_the_dump() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dump = write(d, "enwiki-20260101-pages-articles-multistream.xml.bz2", b"");
        assert_eq!(companion_path(&dump), None);
        let txt = write(d, "enwiki-20260101-pages-articles-multistream-index.txt", b"");
        assert_eq!(companion_path(&dump), Some(txt));
        let bz = write(d, "enwiki-20260101-pages-articles-multistream-index.txt.bz2", b"");
        assert_eq!(companion_path(&dump), Some(bz));
        let part = d.join("enwiki-20260101-pages-articles-multistream3.xml-p1p41242.bz2");
        let part_index = write(d, "enwiki-20260101-pages-articles-multistream-index3.txt-p1p41242.bz2", b"");
        assert_eq!(companion_path(&part), Some(part_index));
        assert_eq!(companion_path(&d.join("enwiki-20260101-pages-articles.xml.bz2")), None);
        assert_eq!(companion_path(&d.join("multistream")), None);
        assert_eq!(
            companion_path(&sample_path("enwiki-sample-multistream.xml.bz2")),
            Some(sample_path("enwiki-sample-multistream-index.txt.bz2"))
        );
    }
}
