//! wikidex patch: a per-thread pool of idle connections' I/O buffers.
//!
//! An idle keep-alive connection (its response written, nothing read or
//! queued) hands its two buffers to this pool and takes them back when the
//! next request arrives, as nginx frees an idle connection's buffers. So
//! 10,000 idle clients cost their sockets and not 16 KiB of buffers each,
//! and a busy connection pays a push and a pop per request instead of two
//! allocations and two frees. The pool keeps at most `POOLED` buffers per
//! worker thread; the rest are freed.

use std::cell::RefCell;

use bytes::BytesMut;

/// Capacity of a pooled buffer.
pub(crate) const BUFFER_SIZE: usize = 1024 * 8;

/// Buffers kept per thread: 2 MiB at most.
const POOLED: usize = 256;

thread_local! {
    static POOL: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer of at least `BUFFER_SIZE` bytes' capacity.
pub(crate) fn take() -> BytesMut {
    POOL.with_borrow_mut(|pool| pool.pop())
        .unwrap_or_else(|| BytesMut::with_capacity(BUFFER_SIZE))
}

/// Returns `buf` (which must be empty) to the pool, leaving an unallocated
/// buffer in its place. A buffer that still shares its storage with a
/// request, or that has grown past `BUFFER_SIZE`, is freed instead.
pub(crate) fn give(buf: &mut BytesMut) {
    debug_assert!(buf.is_empty());
    let mut buf = std::mem::take(buf);
    if buf.capacity() > BUFFER_SIZE || !buf.try_reclaim(BUFFER_SIZE) {
        return;
    }
    POOL.with_borrow_mut(|pool| {
        if pool.len() < POOLED {
            pool.push(buf);
        }
    });
}
