//! Writing an index directory atomically.
//!
//! Files are written into a temporary sibling directory (`.NAME.tmp-PID`),
//! each with its footer and an fsync; the manifest is written last; then the
//! directory is swapped into place with `renameat2(RENAME_EXCHANGE)` (or a
//! plain rename when there was no previous index) and the parent directory is
//! fsynced. A crash at any moment leaves the previous index or none at `out`,
//! plus at worst a temporary directory that the next build removes.

use super::{CrcWriter, FOOTER_LEN, FileEntry, FileKind, Footer, MANIFEST, Manifest};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// One index file being written: payload bytes go through [`Write`];
/// [`FileSink::finish`] appends the footer and fsyncs.
pub struct FileSink {
    path: PathBuf,
    kind: FileKind,
    // Buffer first, then hash: the CRC sees 1 MiB blocks, not the many tiny
    // writes an fst builder makes.
    out: BufWriter<CrcWriter<File>>,
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl FileSink {
    /// Writes the footer, flushes and fsyncs; returns the manifest entry.
    pub fn finish(self) -> Result<(String, FileEntry)> {
        let path = self.path;
        let hashed = self.out.into_inner().map_err(|e| Error::io(&path, "write", e.into_error()))?;
        let (len, crc) = (hashed.len(), hashed.crc());
        let mut file = hashed.into_inner();
        let footer = Footer::new(self.kind, len, crc).encode();
        file.write_all(&footer).map_err(|e| Error::io(&path, "write", e))?;
        file.sync_all().map_err(|e| Error::io(&path, "fsync", e))?;
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        Ok((name, FileEntry { bytes: len + FOOTER_LEN as u64, crc32: crc }))
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// An index directory under construction; removed on drop unless committed.
pub struct IndexWriter {
    out: PathBuf,
    tmp: PathBuf,
    files: BTreeMap<String, FileEntry>,
    committed: bool,
}

impl IndexWriter {
    /// Prepares to write the index `out`: checks that `out` is absent or a
    /// previous index (never replaces anything else), removes temporary
    /// directories left by killed builds, and creates a fresh one.
    pub fn create(out: &Path) -> Result<IndexWriter> {
        let name = out
            .file_name()
            .ok_or_else(|| Error::io(out, "use as index directory", std::io::ErrorKind::InvalidInput.into()))?
            .to_string_lossy()
            .into_owned();
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if out.exists() && !is_replaceable(out) {
            return Err(Error::io(
                out,
                "replace the output directory",
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "it exists and is not a wikidex index; refusing to overwrite it",
                ),
            ));
        }
        let prefix = format!(".{name}.tmp-");
        remove_stale_temporaries(&parent, &prefix);
        let tmp = parent.join(format!("{prefix}{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, "remove old temporary directory", e))?;
        }
        fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, "create directory", e))?;
        fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, "create temporary directory", e))?;
        Ok(IndexWriter { out: out.to_path_buf(), tmp, files: BTreeMap::new(), committed: false })
    }

    /// Starts writing the file `name` of `kind`.
    pub fn file(&self, name: &str, kind: FileKind) -> Result<FileSink> {
        let path = self.tmp.join(name);
        let file = File::create(&path).map_err(|e| Error::io(&path, "create", e))?;
        Ok(FileSink { path, kind, out: BufWriter::with_capacity(1 << 20, CrcWriter::new(file)) })
    }

    /// Creates the file `name` in the index being written, for a file with
    /// a format of its own (the page store): no footer, not in
    /// [`IndexWriter::files`]; the caller writes and fsyncs it.
    pub fn raw_file(&self, name: &str) -> Result<(PathBuf, File)> {
        let path = self.tmp.join(name);
        let file = File::create(&path).map_err(|e| Error::io(&path, "create", e))?;
        Ok((path, file))
    }

    /// Records a finished file for the manifest.
    pub fn add(&mut self, (name, entry): (String, FileEntry)) {
        self.files.insert(name, entry);
    }

    /// The files written so far.
    pub fn files(&self) -> &BTreeMap<String, FileEntry> {
        &self.files
    }

    /// Writes the manifest (with the recorded files) and publishes the index.
    pub fn commit(mut self, mut manifest: Manifest) -> Result<()> {
        manifest.files = std::mem::take(&mut self.files);
        let path = self.tmp.join(MANIFEST);
        let mut text = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
        text.push(b'\n');
        let mut f = File::create(&path).map_err(|e| Error::io(&path, "create", e))?;
        f.write_all(&text).map_err(|e| Error::io(&path, "write", e))?;
        f.sync_all().map_err(|e| Error::io(&path, "fsync", e))?;
        sync_dir(&self.tmp)?;
        if self.out.exists() {
            if !is_replaceable(&self.out) {
                return Err(Error::io(
                    &self.out,
                    "replace the output directory",
                    std::io::Error::new(std::io::ErrorKind::AlreadyExists, "it is no longer a wikidex index"),
                ));
            }
            exchange(&self.tmp, &self.out)?;
            // `tmp` now holds the previous index.
            let _ = fs::remove_dir_all(&self.tmp);
        } else {
            fs::rename(&self.tmp, &self.out)
                .map_err(|e| Error::io(&self.out, "move the new index into place", e))?;
        }
        self.committed = true;
        if let Some(parent) = self.out.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(())
    }
}

impl Drop for IndexWriter {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// An existing `out` may be replaced if it is a directory holding a wikidex
/// manifest, or an empty directory.
fn is_replaceable(out: &Path) -> bool {
    out.is_dir() && (out.join(MANIFEST).is_file() || fs::read_dir(out).is_ok_and(|mut d| d.next().is_none()))
}

/// Atomically swaps two directories; falls back to two renames where the
/// filesystem lacks `RENAME_EXCHANGE`.
fn exchange(new: &Path, out: &Path) -> Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, new, CWD, out, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            let old = new.with_extension("old");
            fs::rename(out, &old).map_err(|e| Error::io(out, "move the previous index aside", e))?;
            fs::rename(new, out).map_err(|e| Error::io(out, "move the new index into place", e))?;
            fs::rename(&old, new).map_err(|e| Error::io(&old, "move the previous index away", e))?;
            Ok(())
        }
        Err(e) => Err(Error::io(out, "swap the new index into place", e.into())),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, "fsync directory", e))
}

/// Removes `prefix*` directories whose builder process is gone.
fn remove_stale_temporaries(parent: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else { continue };
        let alive = pid.parse::<u32>().is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive || pid == std::process::id().to_string() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{ContentIdentity, DumpIdentity, SiteInfo};

    fn manifest() -> Manifest {
        Manifest {
            format: "wikidex-index".into(),
            format_version: super::super::FORMAT_VERSION,
            created_by: "test".into(),
            dump: DumpIdentity { path: "d".into(), bytes: 0, mtime_ns: 0, fingerprint: String::new() },
            site: SiteInfo::default(),
            pages: 0,
            titles: 0,
            redirects: 0,
            redirects_missing: 0,
            skipped: Vec::new(),
            content: ContentIdentity::new(0, 0),
            store: None,
            files: BTreeMap::new(),
        }
    }

    #[test]
    fn commit_publishes_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.wikidex");
        for round in 0..2u8 {
            let mut w = IndexWriter::create(&out).unwrap();
            let mut f = w.file("a.bin", FileKind::Starts).unwrap();
            f.write_all(&[round; 8]).unwrap();
            w.add(f.finish().unwrap());
            w.commit(manifest()).unwrap();
            assert_eq!(fs::read(out.join("a.bin")).unwrap()[0], round);
            let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(names, vec![std::ffi::OsString::from("x.wikidex")], "no temporaries left");
        }
    }

    #[test]
    fn dropping_without_commit_leaves_nothing_and_keeps_the_old_index() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.wikidex");
        IndexWriter::create(&out).unwrap().commit(manifest()).unwrap();
        {
            let w = IndexWriter::create(&out).unwrap();
            let mut f = w.file("a.bin", FileKind::Starts).unwrap();
            f.write_all(b"partial").unwrap();
        }
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1);
        assert!(out.join(MANIFEST).exists());
    }

    #[test]
    fn refuses_to_replace_something_that_is_not_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("precious");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("thesis.txt"), "do not delete").unwrap();
        assert!(IndexWriter::create(&out).is_err());
        assert!(out.join("thesis.txt").exists());
    }

    #[test]
    fn stale_temporaries_of_dead_builds_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".x.wikidex.tmp-999999999");
        fs::create_dir(&stale).unwrap();
        let _w = IndexWriter::create(&dir.path().join("x.wikidex")).unwrap();
        assert!(!stale.exists());
    }
}
