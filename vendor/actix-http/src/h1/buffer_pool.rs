//! wikidex patch: a per-thread pool of idle connections' I/O buffers.
//!
//! An idle keep-alive connection (its response written, nothing read or
//! queued) hands its two buffers to this pool and takes them back when the
//! next request arrives, as nginx frees an idle connection's buffers. So
//! 10,000 idle clients cost their sockets and not 16 KiB of buffers each,
//! and a busy connection pays a push and a pop per request instead of two
//! allocations and two frees. The pool keeps at most `POOLED` buffers per
//! worker thread; the rest are freed.

use std::{cell::RefCell, collections::VecDeque};

use bytes::BytesMut;

/// Capacity of a pooled buffer.
pub(crate) const BUFFER_SIZE: usize = 1024 * 8;

/// Buffers kept per thread: 2 MiB at most.
const POOLED: usize = 256;

thread_local! {
    static POOL: RefCell<VecDeque<BytesMut>> = const { RefCell::new(VecDeque::new()) };
}

/// An empty buffer of at least `BUFFER_SIZE` bytes' capacity: the oldest
/// pooled one whose storage is no longer shared, else a new one.
///
/// A read buffer usually comes back while the request it held is still
/// alive (actix-web keeps the last request in its own pool until the next
/// one), so it cannot be reclaimed yet: such buffers stay in the pool, and
/// taking the oldest first gives their requests time to go. (Freeing them,
/// at once or when passed over, made requests on a busy connection
/// allocate a new 8 KiB buffer each: about 5 % of `/xml`'s user-space
/// cycles went to `malloc_consolidate`.)
pub(crate) fn take() -> BytesMut {
    POOL.with_borrow_mut(|pool| {
        for _ in 0..pool.len() {
            let mut buf = pool.pop_front()?;
            if buf.try_reclaim(BUFFER_SIZE) {
                return Some(buf);
            }
            // Still shared: keep it for a later turn. Dropping it here
            // made its last request free the storage, and the next take
            // allocate a new buffer, whenever few connections were idle.
            pool.push_back(buf);
        }
        None
    })
    .unwrap_or_else(|| BytesMut::with_capacity(BUFFER_SIZE))
}

/// Returns `buf` (which must be empty) to the pool, leaving an unallocated
/// buffer in its place. A buffer that has grown past `BUFFER_SIZE` is
/// freed instead, as is any buffer past the pool's `POOLED`.
pub(crate) fn give(buf: &mut BytesMut) {
    debug_assert!(buf.is_empty());
    let buf = std::mem::take(buf);
    if buf.capacity() > BUFFER_SIZE {
        return;
    }
    POOL.with_borrow_mut(|pool| {
        if pool.len() < POOLED {
            pool.push_back(buf);
        }
    });
}
