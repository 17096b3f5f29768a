//! `manifest.json`: what an index is, what it was built from, and the length
//! and checksum of each of its files. Human-readable on purpose: `cat` it.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::UNIX_EPOCH;

/// The manifest of an index directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"wikidex-index"`.
    pub format: String,
    /// The format version the index was written with.
    pub format_version: u32,
    /// The program that wrote it, e.g. `"wikidex 0.1.0"`.
    pub created_by: String,
    /// The dump file indexed (the `.xml`, or the `.xml.bz2` it came in).
    pub dump: DumpIdentity,
    /// The uncompressed XML the offsets point into: its length and a hash
    /// of all of it, the same whether it was indexed plain or compressed
    /// (HTTP validators derive from it).
    pub content: ContentIdentity,
    /// The page store (`pages.zst`), written when the dump was compressed:
    /// the server then reads pages from it, not from the dump.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreEntry>,
    /// The dump's `<siteinfo>`: case rule and namespaces.
    pub site: SiteInfo,
    /// Number of pages (rows).
    pub pages: u64,
    /// Number of distinct titles (fst keys).
    pub titles: u64,
    /// Number of redirect pages.
    pub redirects: u64,
    /// Number of redirects whose target is not a page of the dump.
    pub redirects_missing: u64,
    /// Invalid pages that `wikidex index --skip-invalid` passed over, so
    /// none is lost silently (absent when there were none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedPage>,
    /// Every other file of the index, by name.
    pub files: BTreeMap<String, FileEntry>,
}

/// The uncompressed dump's length and content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentIdentity {
    /// Length of the uncompressed XML.
    pub bytes: u64,
    /// `xxh3-128:` and the hash of every byte of it, in hex.
    pub hash: String,
}

impl ContentIdentity {
    /// The identity of `bytes` of content whose xxh3-128 is `hash`.
    pub fn new(bytes: u64, hash: u128) -> ContentIdentity {
        ContentIdentity { bytes, hash: format!("xxh3-128:{hash:032x}") }
    }

    /// The hash's hex digits.
    pub fn hex(&self) -> &str {
        self.hash.rsplit(':').next().unwrap_or_default()
    }
}

/// The page store of an index built from a compressed dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreEntry {
    /// Its file name in the index directory.
    pub file: String,
    /// Its length in bytes.
    pub bytes: u64,
    /// Its number of zstd frames.
    pub frames: u64,
}

/// A page left out of an index because it was invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedPage {
    /// Byte offset of its `<page>` tag in the dump.
    pub offset: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// Length and checksum of one index file, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Total file length, footer included.
    pub bytes: u64,
    /// CRC-32 of the payload (the same value the footer holds).
    pub crc32: u32,
}

/// Identifies a dump file cheaply but reliably: its size, its modification
/// time, and a hash of its first and last MiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpIdentity {
    /// The path the index was built from, as given (informational).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// `xxh3-64` of the first MiB, the last MiB and the size, in hex.
    pub fingerprint: String,
}

/// Bytes hashed at each end of the dump for its fingerprint.
const FINGERPRINT_SPAN: u64 = 1 << 20;

impl DumpIdentity {
    /// Reads the identity of the dump at `path` (two 1 MiB reads).
    pub fn of_path(path: &Path) -> Result<DumpIdentity> {
        let file = File::open(path).map_err(|e| Error::io(path, "open the dump", e))?;
        DumpIdentity::of_file(&file, path)
    }

    /// Reads the identity of an already open dump.
    pub fn of_file(file: &File, path: &Path) -> Result<DumpIdentity> {
        let meta = file.metadata().map_err(|e| Error::io(path, "stat the dump", e))?;
        let bytes = meta.len();
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut buf = vec![0u8; FINGERPRINT_SPAN.min(bytes) as usize];
        let mut f = file;
        f.seek(SeekFrom::Start(0))
            .and_then(|_| f.read_exact(&mut buf))
            .map_err(|e| Error::io(path, "read the dump's first MiB", e))?;
        hasher.update(&buf);
        f.seek(SeekFrom::Start(bytes - buf.len() as u64))
            .and_then(|_| f.read_exact(&mut buf))
            .map_err(|e| Error::io(path, "read the dump's last MiB", e))?;
        hasher.update(&buf);
        hasher.update(&bytes.to_le_bytes());
        Ok(DumpIdentity {
            path: path.display().to_string(),
            bytes,
            mtime_ns,
            fingerprint: format!("xxh3-64:{:016x}", hasher.digest()),
        })
    }

    /// Explains how `now` differs from `self` (the indexed dump), or `None`
    /// when it is the same dump. The path is not compared: a dump may move.
    pub fn difference(&self, now: &DumpIdentity) -> Option<String> {
        if self.bytes != now.bytes {
            Some(format!("size was {} bytes, is now {}", self.bytes, now.bytes))
        } else if self.fingerprint != now.fingerprint {
            Some("content differs (fingerprint of first/last MiB)".to_string())
        } else if self.mtime_ns != now.mtime_ns {
            Some("modification time differs".to_string())
        } else {
            None
        }
    }
}

/// The parts of a dump's `<siteinfo>` that title lookups need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInfo {
    /// `<dbname>`, e.g. `enwiki` (empty if absent).
    pub dbname: String,
    /// `<case>`: `first-letter` (titles' first letter is always uppercase)
    /// or `case-sensitive`.
    pub case: String,
    /// `<namespaces>`, in dump order.
    pub namespaces: Vec<Namespace>,
}

impl Default for SiteInfo {
    fn default() -> Self {
        SiteInfo { dbname: String::new(), case: "first-letter".into(), namespaces: Vec::new() }
    }
}

impl SiteInfo {
    /// True when the wiki uppercases the first letter of titles.
    pub fn first_letter(&self) -> bool {
        self.case == "first-letter"
    }

    /// The namespace whose name matches `name` ignoring case (MediaWiki
    /// matches namespace prefixes case-insensitively; `_` and space are the
    /// same), e.g. `talk` → `Talk`.
    ///
    /// ```
    /// use wikidex_indexer::format::{Namespace, SiteInfo};
    /// let site = SiteInfo {
    ///     namespaces: vec![Namespace { key: 1, case: "first-letter".into(), name: "Talk".into() }],
    ///     ..SiteInfo::default()
    /// };
    /// assert_eq!(site.namespace_named("tALK").map(|n| n.key), Some(1));
    /// assert!(site.namespace_named("").is_none());
    /// ```
    pub fn namespace_named(&self, name: &str) -> Option<&Namespace> {
        if name.is_empty() {
            return None;
        }
        let wanted = name.replace('_', " ").to_lowercase();
        self.namespaces.iter().find(|ns| !ns.name.is_empty() && ns.name.to_lowercase() == wanted)
    }

    /// The namespace with this key.
    pub fn namespace(&self, key: i32) -> Option<&Namespace> {
        self.namespaces.iter().find(|ns| ns.key == key)
    }
}

/// One `<namespace key="…" case="…">Name</namespace>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// The namespace number (`<ns>` of its pages).
    pub key: i32,
    /// `first-letter` or `case-sensitive`.
    pub case: String,
    /// Its canonical name, e.g. `Talk`; empty for the main namespace.
    pub name: String,
}
