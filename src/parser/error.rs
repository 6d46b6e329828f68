//! The parser's own error: a limit the input exceeded.

/// A limit that the input exceeded: what [`Parser::next_item`] and
/// [`Parser::next_item_ref`] return. Final for the stream: the parser
/// returns it once and nothing after it until
/// [`reset`](super::Parser::reset).
///
/// The sans-I/O core's error names nothing of the HTTP client. It converts
/// into the crate's [`Error`](crate::Error) (as `?` does), as the variant of
/// the same name with the same message; the `EventSource` client and
/// [`EventStream`](crate::EventStream) return it that way.
///
/// ```
/// use ssefeed::parser::{ParseError, Parser};
///
/// let mut parser = Parser::builder().max_line_len(8).build();
/// parser.feed_slice(b"data: a line longer than eight bytes\n");
/// let error = parser.next_item().unwrap().unwrap_err();
/// assert_eq!(error, ParseError::LineTooLong { limit: 8 });
/// assert!(matches!(
///     ssefeed::Error::from(error),
///     ssefeed::Error::LineTooLong { limit: 8 }
/// ));
/// ```
///
/// [`Parser::next_item`]: super::Parser::next_item
/// [`Parser::next_item_ref`]: super::Parser::next_item_ref
/// [`Parser`]: super::Parser
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A line (from its first byte to its line ending) was longer than the
    /// limit ([`ParserBuilder::max_line_len`](super::ParserBuilder::max_line_len)).
    #[error("event stream line longer than the limit of {limit} bytes")]
    LineTooLong {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The data of one event (its `data:` values joined with line feeds)
    /// grew past the limit
    /// ([`ParserBuilder::max_event_len`](super::ParserBuilder::max_event_len)).
    #[error("event data larger than the limit of {limit} bytes")]
    EventTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
}

impl From<ParseError> for crate::Error {
    #[cold]
    fn from(error: ParseError) -> Self {
        match error {
            ParseError::LineTooLong { limit } => Self::LineTooLong { limit },
            ParseError::EventTooLarge { limit } => Self::EventTooLarge { limit },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_the_crate_error_with_the_same_message() {
        for error in [
            ParseError::LineTooLong { limit: 7 },
            ParseError::EventTooLarge { limit: 9 },
        ] {
            let converted = crate::Error::from(error);
            assert_eq!(converted.to_string(), error.to_string());
        }
        assert!(matches!(
            crate::Error::from(ParseError::LineTooLong { limit: 7 }),
            crate::Error::LineTooLong { limit: 7 }
        ));
        assert!(matches!(
            crate::Error::from(ParseError::EventTooLarge { limit: 9 }),
            crate::Error::EventTooLarge { limit: 9 }
        ));
    }
}
