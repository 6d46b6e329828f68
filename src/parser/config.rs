//! [`ParserBuilder`] and the default limits.

/// The default limit on the length of one line, in bytes: 8 MiB.
///
/// Large enough for a base64 image in one `data:` line, small enough that a
/// server that never ends its line cannot exhaust memory.
pub const DEFAULT_MAX_LINE_LEN: usize = 8 * 1024 * 1024;

/// The default limit on the size of one event's data, in bytes: 16 MiB.
pub const DEFAULT_MAX_EVENT_LEN: usize = 16 * 1024 * 1024;

/// Configures a [`Parser`](super::Parser): limits and whether comments are reported.
#[derive(Debug, Clone)]
#[must_use]
pub struct ParserBuilder {
    pub(super) max_line_len: usize,
    pub(super) max_event_len: usize,
    pub(super) comments: bool,
    pub(super) skip_oversized: bool,
}

impl Default for ParserBuilder {
    fn default() -> Self {
        Self {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            max_event_len: DEFAULT_MAX_EVENT_LEN,
            comments: false,
            skip_oversized: false,
        }
    }
}

impl ParserBuilder {
    /// The longest line accepted, in bytes, not counting its line ending
    /// (default [`DEFAULT_MAX_LINE_LEN`]). A longer line makes
    /// [`Parser::next_item`](super::Parser::next_item) return
    /// [`ParseError::LineTooLong`](super::ParseError::LineTooLong) (the client:
    /// [`Error::LineTooLong`](crate::Error::LineTooLong)). Values below 1 are
    /// raised to 1.
    pub fn max_line_len(mut self, bytes: usize) -> Self {
        self.max_line_len = bytes.max(1);
        self
    }

    /// The largest event data accepted, in bytes, counting the line feed that
    /// the spec appends after each `data` value (default
    /// [`DEFAULT_MAX_EVENT_LEN`]). Larger data makes
    /// [`Parser::next_item`](super::Parser::next_item) return
    /// [`ParseError::EventTooLarge`](super::ParseError::EventTooLarge)
    /// (the client: [`Error::EventTooLarge`](crate::Error::EventTooLarge)). Values
    /// below 1 are raised to 1.
    pub fn max_event_len(mut self, bytes: usize) -> Self {
        // (No data can be larger than `isize::MAX`; the bound leaves room to
        // add a line's length to a count at the limit.)
        self.max_event_len = bytes.clamp(1, isize::MAX as usize);
        self
    }

    /// Skip an event too large to keep instead of failing the stream
    /// (default: off, a limit fails the stream).
    ///
    /// An event is too large when its data grows past
    /// [`max_event_len`](Self::max_event_len), or when one of its `data`,
    /// `event` or `id` lines is longer than
    /// [`max_line_len`](Self::max_line_len). Its bytes are counted, not
    /// kept, so memory stays bounded by the limits; and at the blank line
    /// that ends it, [`Parser::next_item`](super::Parser::next_item) hands out
    /// [`Item::Skipped`](super::Item::Skipped) (with its type and length)
    /// instead of the event. Its `id:` is not adopted (a client that resumes
    /// asks for it again); a `retry:` in it still applies. A too-long line of
    /// another kind (a comment, `retry`, an unknown field) is dropped and
    /// marks nothing; a block without `data` lines makes no event, so it
    /// makes no notice either (its too-long `event:` or `id:` line is
    /// dropped). A stream that ends inside a skipped event ends
    /// [`Truncated`](super::StreamEnd::Truncated), with no notice.
    ///
    /// ```
    /// use ssefeed::parser::{Item, Parser};
    ///
    /// let mut parser = Parser::builder()
    ///     .max_line_len(8)
    ///     .skip_oversized_events(true)
    ///     .build();
    /// parser.feed_slice(b"data: far too long\n\n: also too long\ndata: ok\n\n");
    /// let mut items = Vec::new();
    /// while let Some(item) = parser.next_item() {
    ///     items.push(item?);
    /// }
    /// assert!(matches!(&items[0], Item::Skipped(skipped) if skipped.len() == 12));
    /// assert!(matches!(&items[1], Item::Event(event) if event.data() == "ok"));
    /// assert_eq!(items.len(), 2);
    /// # Ok::<(), ssefeed::Error>(())
    /// ```
    pub fn skip_oversized_events(mut self, on: bool) -> Self {
        self.skip_oversized = on;
        self
    }

    /// Report comment lines as [`Item::Comment`](super::Item::Comment)
    /// (default: off).
    pub fn comments(mut self, on: bool) -> Self {
        self.comments = on;
        self
    }
}
