//! Writing a page store: frames compressed anywhere (in parallel), appended
//! in order, then the store frame and the seek table.

use super::{
    CHECKSUM_FLAG, ENTRY_LEN, MAX_FRAMES, SEEK_TABLE_FOOTER_LEN, SEEK_TABLE_MAGIC, SEEKABLE_MAGIC,
    SKIPPABLE_HEADER_LEN, STORE_FRAME_LEN, STORE_FRAME_MAGIC, STORE_PAYLOAD_LEN, STORE_VERSION, le_u32,
};
use crate::format::MAGIC;
use std::cell::RefCell;
use std::io::{self, Write};
use xxhash_rust::xxh3::Xxh3Default;
use zstd::bulk::Compressor;

/// One zstd frame, ready for [`StoreWriter::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedFrame {
    /// The whole frame, content size in its header and checksum at its end.
    pub bytes: Vec<u8>,
    /// Length of the data it holds.
    pub uncompressed_len: u32,
    /// zstd's content checksum: the low 32 bits of XXH64 of the data.
    pub checksum: u32,
}

thread_local! {
    // One context per thread, reused: a fresh one per frame would fault in
    // a new multi-megabyte workspace every time.
    static COMPRESSOR: RefCell<Compressor<'static>> = RefCell::new(Compressor::default());
}

/// Compresses `data` into one zstd frame at `level`, with its content size
/// and content checksum. Safe to call from many threads at once.
///
/// Fails if `data`, or its compressed frame, is longer than `u32::MAX`
/// bytes, or if zstd refuses `level`.
pub fn compress_frame(data: &[u8], level: i32) -> io::Result<CompressedFrame> {
    let uncompressed_len = u32::try_from(data.len()).map_err(|_| {
        invalid(format!("a store frame holds at most {} bytes, not {}", u32::MAX, data.len()))
    })?;
    let mut bytes = COMPRESSOR.with_borrow_mut(|c| {
        c.set_compression_level(level)?;
        c.include_contentsize(true)?;
        c.include_checksum(true)?;
        c.compress(data)
    })?;
    if u32::try_from(bytes.len()).is_err() {
        return Err(invalid(format!("{} bytes compress to more than {} bytes", data.len(), u32::MAX)));
    }
    bytes.shrink_to_fit();
    // The frame ends with its content checksum, the low 32 bits of XXH64 of
    // `data`: exactly what the seek table wants.
    let checksum = le_u32(&bytes[bytes.len() - 4..]);
    Ok(CompressedFrame { bytes, uncompressed_len, checksum })
}

/// What [`StoreWriter::finish`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreSummary {
    /// Number of zstd frames holding data.
    pub frames: u64,
    /// Length of the whole file.
    pub compressed_bytes: u64,
    /// Length of the data the frames hold.
    pub uncompressed_bytes: u64,
    /// xxh3-128 of the data.
    pub content_hash: u128,
}

/// Writes a page store to `out`: [`push`](Self::push) every frame in
/// order, then [`finish`](Self::finish).
///
/// `out` receives the frames as they come and the metadata at the end; to
/// keep a writer (a CRC-counting one, say) pass `&mut` to it.
///
/// ```
/// use wikidex_indexer::store::{StoreWriter, compress_frame};
///
/// let mut file = Vec::new();
/// let mut store = StoreWriter::new(&mut file);
/// for chunk in [&b"<page>a</page>"[..], b"<page>b</page>"] {
///     store.push(compress_frame(chunk, 3)?, chunk)?;
/// }
/// let summary = store.finish()?;
/// assert_eq!((summary.frames, summary.uncompressed_bytes), (2, 28));
/// assert_eq!(zstd::stream::decode_all(&file[..])?, b"<page>a</page><page>b</page>");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct StoreWriter<W> {
    out: W,
    /// The seek table frame so far: a header to fill in, then the entries.
    table: Vec<u8>,
    frames: u32,
    compressed: u64,
    uncompressed: u64,
    hasher: Box<Xxh3Default>,
}

impl<W: Write> StoreWriter<W> {
    /// Starts a store at the current position of `out`.
    pub fn new(out: W) -> Self {
        StoreWriter {
            out,
            table: vec![0; SKIPPABLE_HEADER_LEN],
            frames: 0,
            compressed: 0,
            uncompressed: 0,
            hasher: Box::new(Xxh3Default::new()),
        }
    }

    /// Appends `frame`, which [`compress_frame`] made from `uncompressed`.
    ///
    /// Fails if writing fails, if `uncompressed` is not the frame's length,
    /// or if the store already holds [`MAX_FRAMES`](super::MAX_FRAMES).
    pub fn push(&mut self, frame: CompressedFrame, uncompressed: &[u8]) -> io::Result<()> {
        if uncompressed.len() != frame.uncompressed_len as usize {
            return Err(invalid(format!(
                "a frame of {} bytes was pushed with {} uncompressed bytes",
                frame.uncompressed_len,
                uncompressed.len()
            )));
        }
        if self.frames == MAX_FRAMES {
            return Err(invalid(format!("a page store holds at most {MAX_FRAMES} frames")));
        }
        let compressed_len = u32::try_from(frame.bytes.len())
            .map_err(|_| invalid(format!("a compressed frame of {} bytes", frame.bytes.len())))?;
        self.out.write_all(&frame.bytes)?;
        self.hasher.update(uncompressed);
        for field in [compressed_len, frame.uncompressed_len, frame.checksum] {
            self.table.extend_from_slice(&field.to_le_bytes());
        }
        self.frames += 1;
        self.compressed += u64::from(compressed_len);
        self.uncompressed += u64::from(frame.uncompressed_len);
        Ok(())
    }

    /// Writes the store frame and the seek table, and flushes `out`.
    pub fn finish(mut self) -> io::Result<StoreSummary> {
        debug_assert_eq!(self.table.len(), SKIPPABLE_HEADER_LEN + self.frames as usize * ENTRY_LEN);
        // At most 12 * MAX_FRAMES + 9 bytes, well within u32.
        let payload = (self.table.len() - SKIPPABLE_HEADER_LEN + SEEK_TABLE_FOOTER_LEN) as u32;
        self.table[..4].copy_from_slice(&SEEK_TABLE_MAGIC.to_le_bytes());
        self.table[4..8].copy_from_slice(&payload.to_le_bytes());
        self.table.extend_from_slice(&self.frames.to_le_bytes());
        self.table.push(CHECKSUM_FLAG);
        self.table.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());

        let content_hash = self.hasher.digest128();
        let ours = store_frame(self.uncompressed, crc32fast::hash(&self.table), content_hash);
        self.out.write_all(&ours)?;
        self.out.write_all(&self.table)?;
        self.out.flush()?;
        Ok(StoreSummary {
            frames: u64::from(self.frames),
            compressed_bytes: self.compressed + (ours.len() + self.table.len()) as u64,
            uncompressed_bytes: self.uncompressed,
            content_hash,
        })
    }
}

/// The store frame's bytes (see the layout in [`super`]).
fn store_frame(uncompressed: u64, table_crc: u32, content_hash: u128) -> [u8; STORE_FRAME_LEN] {
    let mut b = [0; STORE_FRAME_LEN];
    b[0..4].copy_from_slice(&STORE_FRAME_MAGIC.to_le_bytes());
    b[4..8].copy_from_slice(&(STORE_PAYLOAD_LEN as u32).to_le_bytes());
    b[8..16].copy_from_slice(&MAGIC);
    b[16..20].copy_from_slice(&STORE_VERSION.to_le_bytes());
    b[20..28].copy_from_slice(&uncompressed.to_le_bytes());
    b[28..32].copy_from_slice(&table_crc.to_le_bytes());
    b[32..48].copy_from_slice(&content_hash.to_le_bytes());
    let own = crc32fast::hash(&b[8..48]);
    b[48..52].copy_from_slice(&own.to_le_bytes());
    b
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_content_size_and_zstd_checksum() {
        // Low 32 bits of XXH64 with seed 0, from xxHash's test vectors.
        for (data, xxh64) in [(&b""[..], 0xEF46_DB37_51D8_E999u64), (b"abc", 0x44BC_2CF5_AD77_0999)] {
            let frame = compress_frame(data, 3).unwrap();
            assert_eq!(frame.checksum, xxh64 as u32);
            assert_eq!(frame.uncompressed_len as usize, data.len());
            assert_eq!(
                zstd::zstd_safe::get_frame_content_size(&frame.bytes).ok(),
                Some(Some(data.len() as u64))
            );
            assert_eq!(zstd::bulk::decompress(&frame.bytes, data.len()).unwrap(), data);
        }
    }

    #[test]
    fn each_call_uses_its_own_level() {
        let data: Vec<u8> = (0u32..50_000).flat_map(|i| (i * i % 7919).to_string().into_bytes()).collect();
        let fast = compress_frame(&data, -5).unwrap();
        let small = compress_frame(&data, 19).unwrap();
        assert!(small.bytes.len() < fast.bytes.len(), "{} vs {}", small.bytes.len(), fast.bytes.len());
        assert_eq!(compress_frame(&data, -5).unwrap(), fast);
        for frame in [fast, small] {
            assert_eq!(zstd::bulk::decompress(&frame.bytes, data.len()).unwrap(), data);
        }
    }

    #[test]
    fn push_refuses_bytes_that_are_not_the_frames() {
        let mut w = StoreWriter::new(io::sink());
        let frame = compress_frame(b"abc", 3).unwrap();
        let err = w.push(frame, b"abcd").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn summary_counts_what_was_written() {
        let mut file = Vec::new();
        let mut w = StoreWriter::new(&mut file);
        for chunk in [&b"hello "[..], b"world"] {
            w.push(compress_frame(chunk, 3).unwrap(), chunk).unwrap();
        }
        let s = w.finish().unwrap();
        assert_eq!(s.frames, 2);
        assert_eq!(s.uncompressed_bytes, 11);
        assert_eq!(s.compressed_bytes, file.len() as u64);
        assert_eq!(s.content_hash, xxhash_rust::xxh3::xxh3_128(b"hello world"));
        assert_eq!(le_u32(&file[file.len() - 4..]), SEEKABLE_MAGIC);
    }
}
