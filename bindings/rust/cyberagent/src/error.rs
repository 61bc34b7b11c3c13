//! The one error type: a `ca_status` code plus the library's sentence.

use std::ffi::CStr;
use std::fmt;

use cyberagent_sys as sys;

/// A failed libcyberagent call: the stable status code and the sentence
/// `ca_last_error()` gave on the calling thread right after the failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: i32,
    message: String,
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Builds an error from a status, reading this thread's `ca_last_error()`.
    /// Call it right after the C call that returned `status`, with no library
    /// call in between (LAST ERROR RULE, common.h); drops in between are fine,
    /// `ca_*_free` never changes the sentence.
    pub(crate) fn from_status(status: i32) -> Error {
        // SAFETY: ca_last_error returns a valid NUL-terminated thread-local string.
        let message = unsafe { cstr(sys::ca_last_error()) };
        Error { status, message }
    }

    /// An error raised by the binding itself (e.g. a path with a NUL byte).
    pub(crate) fn invalid_argument(message: &str) -> Error {
        Error { status: sys::CA_ERR_INVALID_ARGUMENT, message: message.to_string() }
    }

    /// The negative `ca_status` code (compare with the `CA_ERR_*` constants in [`status`](crate::status)).
    pub fn status(&self) -> i32 {
        self.status
    }

    /// The stable name of the status, e.g. `"CA_ERR_BAD_SIGNATURE"`.
    pub fn name(&self) -> &'static str {
        crate::status_str(self.status)
    }

    /// The library's human sentence for this failure.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.name())
        } else {
            write!(f, "{} ({})", self.message, self.name())
        }
    }
}

impl std::error::Error for Error {}

/// `Ok(())` for `CA_OK`, else the error with this thread's message.
#[inline]
pub(crate) fn check(status: i32) -> Result<()> {
    if status == sys::CA_OK {
        Ok(())
    } else {
        Err(Error::from_status(status))
    }
}

/// Copies a C string (NULL gives "").
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn cstr(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: the caller guarantees a NUL-terminated string.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// Runs a C function that follows the OWNERSHIP RULE (caller buffer + size
/// query) and returns its output. `call(out, out_cap, out_len)` invokes it;
/// the first try uses `guess` bytes, and on `CA_ERR_BUFFER_TOO_SMALL` the
/// call is repeated once with the exact size the library reported.
pub(crate) fn out_bytes<F>(guess: usize, mut call: F) -> Result<Vec<u8>>
where
    F: FnMut(*mut u8, usize, *mut usize) -> i32,
{
    let mut buf: Vec<u8> = vec![0u8; guess.max(1)];
    let mut n: usize = 0;
    let mut st = call(buf.as_mut_ptr(), buf.len(), &mut n);
    if st == sys::CA_ERR_BUFFER_TOO_SMALL {
        buf = vec![0u8; n + 1];
        st = call(buf.as_mut_ptr(), buf.len(), &mut n);
    }
    check(st)?;
    buf.truncate(n);
    Ok(buf)
}
