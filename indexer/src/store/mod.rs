//! The page store, `pages.zst`: the uncompressed dump's bytes, kept in the
//! index when the dump itself is compressed, so byte ranges of the
//! uncompressed dump can be served without it.
//!
//! This module owns the store's layout and versioning; [`Store`] reads it,
//! and `StoreWriter` (feature `build`) writes it.
//!
//! The store is a standard zstd file — `zstd -dc pages.zst` gives back the
//! uncompressed dump — in zstd's [seekable format]: independent frames, each
//! with its content size and content checksum, then two skippable frames.
//!
//! ```text
//! frame 0 .. frame N-1   zstd frames of the dump's bytes, in order; the
//!                        caller cuts them (see frame_cuts)
//! store frame            52 bytes, skippable (magic 0x184D2A5B), ours
//! seek table frame       17 + 12 N bytes, skippable (magic 0x184D2A5E),
//!                        zstd's seekable format; always last
//! ```
//!
//! The store frame:
//!
//! ```text
//! offset  size  field
//!      0     4  skippable magic 0x184D2A5B                     u32 LE
//!      4     4  payload size, 44                               u32 LE
//!      8     8  MAGIC "WIKIDEX\0"
//!     16     4  STORE_VERSION                                  u32 LE
//!     20     8  uncompressed bytes, the sum of the frames'     u64 LE
//!     28     4  CRC-32 of the whole seek table frame           u32 LE
//!     32    16  xxh3-128 of the uncompressed bytes             u128 LE
//!     48     4  CRC-32 of bytes 8..48                          u32 LE
//! ```
//!
//! The seek table frame, as the seekable format defines it:
//!
//! ```text
//! offset     size  field
//!      0        4  skippable magic 0x184D2A5E                  u32 LE
//!      4        4  payload size, 12 N + 9                      u32 LE
//!      8     12 N  per frame, in order:
//!                    compressed size                           u32 LE
//!                    decompressed size                         u32 LE
//!                    low 32 bits of XXH64 (seed 0) of its
//!                    content, zstd's own content checksum      u32 LE
//!  8 + 12 N     4  N, the number of frames                     u32 LE
//! 12 + 12 N     1  descriptor 0x80: entries carry checksums
//! 13 + 12 N     4  seekable magic 0x8F92EAB1                   u32 LE
//! ```
//!
//! The entries list the data frames only: their compressed sizes add up to
//! the store frame's offset, their decompressed sizes to the uncompressed
//! bytes. Opening a store checks both, the magics and the two CRCs — work
//! that grows only with the number of frames; [`Store::verify`] decompresses
//! everything.
//!
//! [seekable format]: https://github.com/facebook/zstd/blob/dev/contrib/seekable_format/zstd_seekable_compression_format.md

mod read;
#[cfg(feature = "build")]
mod write;

pub use read::{CacheStats, Store, StoreError};
#[cfg(feature = "build")]
pub use write::{CompressedFrame, StoreSummary, StoreWriter, compress_frame};

/// The store format version this build writes and reads.
pub const STORE_VERSION: u32 = 1;

/// The most frames one store holds: zstd's seekable readers refuse seek
/// tables with more (`ZSTD_SEEKABLE_MAXFRAMES`).
pub const MAX_FRAMES: u32 = 0x800_0000;

/// Magic number of a zstd skippable frame holding a seek table.
const SEEK_TABLE_MAGIC: u32 = 0x184D_2A5E;
/// Magic number of the skippable frame holding our metadata.
const STORE_FRAME_MAGIC: u32 = 0x184D_2A5B;
/// The last four bytes of a seekable zstd file.
const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;
/// Seek table descriptor bit: every entry carries a checksum.
const CHECKSUM_FLAG: u8 = 0x80;
/// Magic number and size field of a skippable frame.
const SKIPPABLE_HEADER_LEN: usize = 8;
/// One seek table entry: compressed size, decompressed size, checksum.
const ENTRY_LEN: usize = 12;
/// Frame count, descriptor and seekable magic.
const SEEK_TABLE_FOOTER_LEN: usize = 9;
/// Payload of the store frame: magic, version, length, table CRC, content
/// hash and its own CRC.
const STORE_PAYLOAD_LEN: usize = 8 + 4 + 8 + 4 + 16 + 4;
/// The whole store frame.
const STORE_FRAME_LEN: usize = SKIPPABLE_HEADER_LEN + STORE_PAYLOAD_LEN;

/// Where to cut `len` bytes into frames of at most `target` bytes: the end
/// offset of each frame, ascending, the last one `len` (none when `len` is 0).
///
/// A frame starting at `start` ends at the last of `page_starts` (ascending
/// offsets of `<page>` in the dump) after `start + target / 4` and at most
/// `start + target`, so that pages begin frames; when there is none it ends
/// at `start + target`, and a page longer than a frame spans several frames.
///
/// ```
/// use wikidex_indexer::store::frame_cuts;
///
/// assert_eq!(frame_cuts(100, &[0, 30, 60, 90], 50), [30, 60, 100]);
/// assert_eq!(frame_cuts(100, &[0, 5], 40), [40, 80, 100]);
/// ```
///
/// # Panics
///
/// If `target` is 0.
pub fn frame_cuts(len: usize, page_starts: &[usize], target: usize) -> Vec<usize> {
    assert!(target > 0, "frames must hold at least one byte");
    debug_assert!(page_starts.is_sorted(), "page starts must ascend");
    let mut cuts = Vec::with_capacity(len / target + 1);
    let (mut start, mut pages) = (0, page_starts);
    while len - start > target {
        let (floor, limit) = (start + target / 4, start + target);
        let within = pages.partition_point(|&p| p <= limit);
        let cut = match pages[..within].last() {
            Some(&p) if p > floor => p,
            _ => limit,
        };
        cuts.push(cut);
        (start, pages) = (cut, &pages[within..]);
    }
    if len > 0 {
        cuts.push(len);
    }
    cuts
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(*b.first_chunk().expect("4 bytes"))
}

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(*b.first_chunk().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cuts_at_page_starts_past_a_quarter_of_the_target() {
        assert_eq!(frame_cuts(0, &[], 10), Vec::<usize>::new());
        assert_eq!(frame_cuts(7, &[0], 10), [7]);
        assert_eq!(frame_cuts(10, &[0], 10), [10]);
        // 2 is not past 10 / 4 = 2, so that frame is cut at its target.
        assert_eq!(frame_cuts(25, &[0, 2, 13, 14], 10), [10, 14, 24, 25]);
        // One page longer than three frames.
        assert_eq!(frame_cuts(35, &[0, 32], 10), [10, 20, 30, 35]);
        assert_eq!(frame_cuts(3, &[0, 1, 2], 1), [1, 2, 3]);
    }

    fn pages_and_target() -> impl Strategy<Value = (usize, Vec<usize>, usize)> {
        (0usize..4000, 1usize..600).prop_flat_map(|(len, target)| {
            let starts = proptest::collection::btree_set(0..len.max(1), 0..64);
            (Just(len), starts.prop_map(|s| s.into_iter().collect()), Just(target))
        })
    }

    proptest! {
        #[test]
        fn cuts_cover_the_input_within_target((len, pages, target) in pages_and_target()) {
            let cuts = frame_cuts(len, &pages, target);
            prop_assert_eq!(cuts.last().copied().unwrap_or(0), len);
            let mut start = 0;
            for (i, &cut) in cuts.iter().enumerate() {
                prop_assert!(cut > start && cut - start <= target, "frame {}..{}", start, cut);
                if i + 1 < cuts.len() {
                    let best = pages.iter().copied().filter(|&p| p > start + target / 4 && p <= start + target).max();
                    prop_assert_eq!(cut, best.unwrap_or(start + target));
                }
                start = cut;
            }
        }
    }
}
