//! The parser's own error: a limit the input exceeded. The sans-I/O core
//! returns it; the public methods hand it out as [`crate::Error`].

/// A limit that the input exceeded. Final for the stream (see
/// [`Lifecycle::Failed`](super::Lifecycle::Failed)). Crate-private: the
/// public methods return [`crate::Error`], which the machine and the client
/// pass on as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// A line was longer than `limit` bytes.
    #[error("event stream line longer than the limit of {limit} bytes")]
    LineTooLong { limit: usize },
    /// An event's data was larger than `limit` bytes.
    #[error("event data larger than the limit of {limit} bytes")]
    EventTooLarge { limit: usize },
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
