//! [`ParserBuilder`] and the default limits.

use super::Parser;

/// The default limit on the length of one line, in bytes: 8 MiB.
///
/// Large enough for a base64 image in one `data:` line, small enough that a
/// server that never ends its line cannot exhaust memory.
pub const DEFAULT_MAX_LINE_LEN: usize = 8 * 1024 * 1024;

/// The default limit on the size of one event's data, in bytes: 16 MiB.
pub const DEFAULT_MAX_EVENT_LEN: usize = 16 * 1024 * 1024;

/// Configures a [`Parser`]: limits and whether comments are reported.
#[derive(Debug, Clone)]
#[must_use]
pub struct ParserBuilder {
    pub(super) max_line_len: usize,
    pub(super) max_event_len: usize,
    pub(super) comments: bool,
}

impl Default for ParserBuilder {
    fn default() -> Self {
        Self {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            max_event_len: DEFAULT_MAX_EVENT_LEN,
            comments: false,
        }
    }
}

impl ParserBuilder {
    /// The longest line accepted, in bytes, not counting its line ending
    /// (default [`DEFAULT_MAX_LINE_LEN`]). A longer line makes
    /// [`Parser::next_item`] return
    /// [`ParseError::LineTooLong`](super::ParseError::LineTooLong) (the client:
    /// [`Error::LineTooLong`](crate::Error::LineTooLong)). Values below 1 are
    /// raised to 1.
    pub fn max_line_len(mut self, bytes: usize) -> Self {
        self.max_line_len = bytes.max(1);
        self
    }

    /// The largest event data accepted, in bytes, counting the line feed that
    /// the spec appends after each `data` value (default
    /// [`DEFAULT_MAX_EVENT_LEN`]). Larger data makes [`Parser::next_item`]
    /// return [`ParseError::EventTooLarge`](super::ParseError::EventTooLarge)
    /// (the client: [`Error::EventTooLarge`](crate::Error::EventTooLarge)). Values
    /// below 1 are raised to 1.
    pub fn max_event_len(mut self, bytes: usize) -> Self {
        self.max_event_len = bytes.max(1);
        self
    }

    /// Report comment lines as [`Item::Comment`](super::Item::Comment)
    /// (default: off).
    pub fn comments(mut self, on: bool) -> Self {
        self.comments = on;
        self
    }

    /// Builds the parser.
    pub fn build(self) -> Parser {
        Parser::with_config(self)
    }
}
