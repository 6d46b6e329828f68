//! The last bytes a connection's body brought, kept for an error's context
//! (opt-in: [`MachineConfig::keep_recent_bytes`](super::MachineConfig::keep_recent_bytes)).

/// At most `limit` bytes: the end of what was fed, oldest first.
#[derive(Debug, Clone)]
pub(super) struct RecentBytes {
    limit: usize,
    /// Never longer than `limit`.
    bytes: Vec<u8>,
}

impl RecentBytes {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit,
            bytes: Vec::new(),
        }
    }

    /// Keeps the end of `chunk`: one copy of at most `limit` bytes, and a
    /// move of at most as many.
    pub(super) fn push(&mut self, chunk: &[u8]) {
        if chunk.len() >= self.limit {
            self.bytes.clear();
            self.bytes
                .extend_from_slice(&chunk[chunk.len() - self.limit..]);
        } else {
            let over = (self.bytes.len() + chunk.len()).saturating_sub(self.limit);
            self.bytes.drain(..over);
            self.bytes.extend_from_slice(chunk);
        }
        debug_assert!(self.bytes.len() <= self.limit);
    }

    pub(super) fn clear(&mut self) {
        self.bytes.clear();
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::RecentBytes;

    #[test]
    fn keeps_the_last_bytes_whatever_the_chunking() {
        let input = b"data: first\n\ndata: second, cut sho";
        for size in 1..input.len() {
            let mut recent = RecentBytes::new(10);
            for chunk in input.chunks(size) {
                recent.push(chunk);
            }
            assert_eq!(recent.bytes(), b"d, cut sho", "chunks of {size}");
        }
        let mut recent = RecentBytes::new(10);
        recent.push(b"abc");
        assert_eq!(recent.bytes(), b"abc");
        recent.clear();
        assert!(recent.bytes().is_empty());
    }
}
