//! [`Lease`]: a read lease on the dump, so the kernel says when it may change.
//!
//! `fcntl(F_SETLEASE, F_RDLCK)` asks Linux to signal the holder when any
//! process opens the file for writing or truncates it, and to hold that
//! `open` or `truncate` until the holder lets go (or until
//! `/proc/sys/fs/lease-break-time`, 45 s by default, passes). Our `SIGIO`
//! handler marks every lease of this process broken, then lets go of them,
//! so the mark comes before the first byte anybody can write. While a lease
//! holds, the dump's bytes are the ones it had when the lease was taken, and
//! [`super::DumpFile::check`] can answer without an `fstat`.
//!
//! A read that passed its check just before the mark can still meet the
//! writer's first bytes, as one that passed its `fstat` just before a write
//! could without a lease: the check guards each read's start, not its end.
//!
//! A `touch` breaks no lease: it opens nothing for writing. An inotify watch
//! on the dump (`IN_MODIFY | IN_ATTRIB`, its descriptor set to signal
//! `O_ASYNC`) sends the same `SIGIO` when the dump is written to or gets new
//! timestamps or permissions, just after the change; a change that leaves
//! the bytes as they were can come to light that late. The watch is on the
//! file, not its directory: a watched directory would make the kernel look
//! at it on every read of the dump (`fsnotify_parent`).
//!
//! Once broken, a lease stays broken: `check` goes back to an `fstat` per
//! call, which tells a real change (size or mtime) from a writer that opened
//! the file and wrote nothing. A stray `SIGIO` only costs that fallback.
//!
//! A lease is refused when the file is already open for writing anywhere,
//! when this user neither owns the file nor has `CAP_LEASE`, or on file
//! systems without leases (NFS, some FUSE), or when it cannot be watched
//! (no inotify, or no watch left: `fs.inotify.max_user_watches`); the dump
//! is then checked with an `fstat` per call, as before leases.
//!
//! The watch's events are never read: once one has come, the lease is over
//! anyway, and the kernel caps the queue (`fs.inotify.max_queued_events`).
//! Reading them in the handler could read from another file that had been
//! given the number of a watch closed meanwhile.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// `F_SETSIG` (`__F_SETSIG` in asm-generic/fcntl.h, the same on every
/// architecture Rust targets), which the libc crate leaves out for glibc.
const F_SETSIG: libc::c_int = 10;
/// How many dumps one process can hold leases on (a server holds one; the
/// tests open several).
const SLOTS: usize = 16;
/// The descriptors holding a lease, -1 for a free slot; read by the handler.
/// (If one closes while the handler runs and its number is reused, letting
/// go of a lease on that other file is harmless: every lease of the process
/// is over by then.)
static HELD: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
/// Set by the handler, before it lets go: every lease of the process is over.
static BROKEN: AtomicBool = AtomicBool::new(false);
/// The handler's installation, once per process, and whether it succeeded.
static INSTALL: Once = Once::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// A read lease on an open file, held until broken or dropped. Drop it
/// before the file is closed.
#[derive(Debug)]
pub(super) struct Lease {
    slot: usize,
    /// The inotify instance watching the file (module doc).
    _watch: OwnedFd,
}

impl Lease {
    /// Takes a read lease on `file` (opened read-only from `path`) and
    /// watches it, or says why not.
    pub(super) fn take(file: &File, path: &Path) -> Result<Lease, String> {
        INSTALL.call_once(|| {
            // SAFETY: the handler only loads and stores atomics and calls
            // fcntl(2), all async-signal-safe.
            let installed = unsafe { signal_hook_registry::register(libc::SIGIO, let_go_of_all) };
            INSTALLED.store(installed.is_ok(), Ordering::SeqCst);
        });
        if !INSTALLED.load(Ordering::SeqCst) {
            return Err("no SIGIO handler could be installed".into());
        }
        if BROKEN.load(Ordering::SeqCst) {
            return Err("a lease of this process was broken already".into());
        }
        let watch = watch(path)?;
        let fd = file.as_raw_fd();
        // Claimed before the lease exists, so a break right after it is let go.
        let slot = HELD
            .iter()
            .position(|s| s.compare_exchange(-1, fd, Ordering::SeqCst, Ordering::SeqCst).is_ok())
            .ok_or_else(|| format!("more than {SLOTS} leases in one process"))?;
        // SAFETY: a plain fcntl(2) call on a descriptor `file` keeps open.
        let set =
            sigio_to_this_process(fd) && unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) != -1 };
        if !set {
            let e = std::io::Error::last_os_error();
            HELD[slot].store(-1, Ordering::SeqCst);
            return Err(match e.raw_os_error() {
                Some(libc::EAGAIN) => "the file is open for writing".into(),
                Some(libc::EACCES) => "the file belongs to another user".into(),
                _ => e.to_string(),
            });
        }
        Ok(Lease { slot, _watch: watch })
    }

    /// Whether the lease still holds: nobody can have changed the file since
    /// it was taken.
    pub(super) fn holds(&self) -> bool {
        !BROKEN.load(Ordering::SeqCst)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let fd = HELD[self.slot].swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: the descriptor is still open: its file outlives the lease.
            unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        }
    }
}

/// An inotify instance watching `path` for writes and attribute changes,
/// which raises `SIGIO` for this process when one is queued.
fn watch(path: &Path) -> Result<OwnedFd, String> {
    let no_watch = |what: &str| format!("cannot watch it ({what}: {})", std::io::Error::last_os_error());
    // SAFETY: inotify_init1(2) returns a new descriptor we then own, or -1.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    if fd < 0 {
        return Err(no_watch("inotify_init1"));
    }
    // SAFETY: `fd` is open and ours alone.
    let watch = unsafe { OwnedFd::from_raw_fd(fd) };
    let c_path =
        std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| "a NUL in its path".to_string())?;
    // SAFETY: plain syscalls on `fd`, which `watch` keeps open, and a
    // NUL-terminated path.
    let set = unsafe { libc::inotify_add_watch(fd, c_path.as_ptr(), libc::IN_MODIFY | libc::IN_ATTRIB) >= 0 }
        && sigio_to_this_process(fd)
        // SAFETY: as above.
        && unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK | libc::O_ASYNC) != -1 };
    if !set {
        return Err(no_watch("inotify"));
    }
    Ok(watch)
}

/// Asks that `fd`'s signals (a lease break, a queued inotify event) come to
/// this process as `SIGIO` with their details; false if the kernel refused.
fn sigio_to_this_process(fd: libc::c_int) -> bool {
    // SAFETY: plain fcntl(2) calls; on a descriptor that is not open they
    // fail and return -1.
    unsafe {
        libc::fcntl(fd, F_SETSIG, libc::SIGIO) != -1 && libc::fcntl(fd, libc::F_SETOWN, libc::getpid()) != -1
    }
}

/// The `SIGIO` handler: marks every lease broken, then lets go of them, so
/// the writer waiting in `open` or `truncate` goes on only after the mark.
fn let_go_of_all() {
    BROKEN.store(true, Ordering::SeqCst);
    for slot in &HELD {
        let fd = slot.load(Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: fcntl(2) is async-signal-safe; a descriptor closed
            // meanwhile just makes it fail.
            unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        }
    }
}
