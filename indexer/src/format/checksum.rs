//! A writer that computes the CRC-32 and length of what passes through it, so
//! a file's checksum is known the moment its last byte is written — no second
//! read of the file.

use std::io::{self, Write};

/// Wraps a writer and hashes every byte written through it.
///
/// ```
/// use std::io::Write;
/// use wikidex_indexer::format::CrcWriter;
///
/// let mut w = CrcWriter::new(Vec::new());
/// w.write_all(b"hello")?;
/// assert_eq!(w.len(), 5);
/// assert_eq!(w.crc(), crc32fast::hash(b"hello"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct CrcWriter<W> {
    inner: W,
    hasher: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> CrcWriter<W> {
    /// Starts hashing writes to `inner`.
    pub fn new(inner: W) -> Self {
        CrcWriter { inner, hasher: crc32fast::Hasher::new(), len: 0 }
    }

    /// CRC-32 of everything written so far.
    pub fn crc(&self) -> u32 {
        self.hasher.clone().finalize()
    }

    /// Number of bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reference to the wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Gives back the wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
