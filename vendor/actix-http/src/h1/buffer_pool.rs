//! wikidex patch: a per-thread pool of idle connections' I/O buffers.
//!
//! An idle keep-alive connection (its response written, nothing read or
//! queued) hands its two buffers to this pool and takes them back when the
//! next request arrives, as nginx frees an idle connection's buffers. So an
//! idle client costs its socket and not 16 KiB of buffers, and a busy
//! connection pays a push and a pop per request. The pool keeps at most
//! `POOLED` buffers per worker thread; the rest are freed. Why and what it
//! measured: wikidex's `vendor/actix-http/patches/0002-idle-buffer-pool.patch`.

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
/// allocate a new 8 KiB buffer each: wikidex's docs/BENCHMARKS.md, "The
/// buffer pool keeps read buffers".)
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

/// The capacity of the largest pooled buffer (0 when the pool is empty).
#[cfg(test)]
pub(crate) fn largest_pooled() -> usize {
    POOL.with_borrow(|pool| pool.iter().map(BytesMut::capacity).max().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pooled() -> usize {
        POOL.with_borrow(VecDeque::len)
    }

    fn empty_pool() {
        POOL.with_borrow_mut(VecDeque::clear);
    }

    #[test]
    fn a_given_buffer_is_taken_back_without_allocating() {
        empty_pool();
        let mut buf = take();
        assert!(buf.capacity() >= BUFFER_SIZE);
        let storage = buf.as_ptr();
        give(&mut buf);
        assert_eq!(buf.capacity(), 0, "the connection keeps no buffer");
        assert_eq!(pooled(), 1);
        assert_eq!(take().as_ptr(), storage);
        assert_eq!(pooled(), 0);
    }

    #[test]
    fn a_buffer_still_shared_is_passed_over_and_kept() {
        empty_pool();
        let mut buf = take();
        buf.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let request = buf.split().freeze(); // as the decoder keeps a request's head
        let storage = request.as_ptr();
        give(&mut buf);

        let other = take();
        assert_ne!(other.as_ptr(), storage, "shared storage is not handed out");
        assert_eq!(pooled(), 1, "the shared buffer stays in the pool");

        drop(request);
        assert_eq!(take().as_ptr(), storage, "reclaimed once the request is gone");
        drop(other);
    }

    #[test]
    fn grown_buffers_and_buffers_past_the_cap_are_freed() {
        empty_pool();
        let mut big = BytesMut::with_capacity(4 * BUFFER_SIZE);
        give(&mut big);
        assert_eq!(pooled(), 0, "a grown buffer is not pooled");

        let mut bufs: Vec<BytesMut> = (0..POOLED + 10).map(|_| take()).collect();
        for buf in &mut bufs {
            give(buf);
        }
        assert_eq!(pooled(), POOLED);
        empty_pool();
    }
}
