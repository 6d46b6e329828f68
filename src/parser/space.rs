//! What an unused buffer keeps while the parser waits.

/// How much space an unused buffer keeps while the parser waits
/// ([`Parser::shrink_buffers`](super::Parser::shrink_buffers)): enough for the small events of a busy feed
/// to cost no allocation per read. Under the fuzzer, little, so that its
/// small inputs let go of buffers too.
#[cfg(not(fuzzing))]
pub(super) const KEEP_WHILE_WAITING: usize = 1024;
#[cfg(fuzzing)]
pub(super) const KEEP_WHILE_WAITING: usize = 8;

/// Lets go of `buffer`'s space if it holds nothing and more than
/// [`KEEP_WHILE_WAITING`] bytes of it.
pub(super) fn free_if_unused(buffer: &mut Vec<u8>) {
    if buffer.is_empty() && buffer.capacity() > KEEP_WHILE_WAITING {
        *buffer = Vec::new();
    }
}

/// [`free_if_unused`] for a string.
pub(super) fn free_string_if_unused(buffer: &mut String) {
    if buffer.is_empty() && buffer.capacity() > KEEP_WHILE_WAITING {
        *buffer = String::new();
    }
}
