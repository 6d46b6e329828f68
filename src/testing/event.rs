//! An event as a server writes it.

use std::time::Duration;

/// One event in `text/event-stream` form, for [`Response::event`](super::Response::event).
///
/// Its fields are written in this order: comment, `event:`, `id:`,
/// `retry:`, one `data:` line per line of the data, then the blank line
/// that dispatches it. Nothing is checked or escaped: an `id` with a line
/// break in it ends its line there, as on the wire. For bytes no event can
/// hold (invalid UTF-8, CR-only line ends, a BOM), write them with
/// [`Response::body`](super::Response::body).
///
/// ```
/// use std::time::Duration;
/// use ssefeed::testing::ServerEvent;
///
/// let event = ServerEvent::data("line one\nline two")
///     .event_type("update")
///     .id("7")
///     .retry(Duration::from_millis(500));
/// assert_eq!(
///     event.to_string(),
///     "event: update\nid: 7\nretry: 500\ndata: line one\ndata: line two\n\n"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerEvent {
    comment: Option<String>,
    event_type: Option<String>,
    id: Option<String>,
    retry: Option<Duration>,
    data: Option<String>,
}

impl ServerEvent {
    /// An event with no fields; without data it dispatches nothing (but its
    /// `id:` still sets the last event ID).
    pub fn new() -> Self {
        Self::default()
    }

    /// An event with this data: one `data:` line for each of its lines (split
    /// at LF, CRLF or CR), so a client joins them back with LF.
    pub fn data(data: impl Into<String>) -> Self {
        Self::new().with_data(data)
    }

    /// Sets the data (see [`data`](Self::data)).
    pub fn with_data(mut self, data: impl Into<String>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// The `event:` field: the event's type.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// The `id:` field.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The `retry:` field, in whole milliseconds.
    pub fn retry(mut self, time: Duration) -> Self {
        self.retry = Some(time);
        self
    }

    /// A `:` comment line before the fields.
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }
}

impl std::fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(comment) = &self.comment {
            writeln!(f, ": {comment}")?;
        }
        if let Some(event_type) = &self.event_type {
            writeln!(f, "event: {event_type}")?;
        }
        if let Some(id) = &self.id {
            writeln!(f, "id: {id}")?;
        }
        if let Some(retry) = self.retry {
            writeln!(f, "retry: {}", retry.as_millis())?;
        }
        if let Some(data) = &self.data {
            for line in lines(data) {
                match line {
                    "" => writeln!(f, "data:")?,
                    line => writeln!(f, "data: {line}")?,
                }
            }
        }
        writeln!(f)
    }
}

/// The lines of `text`, split at LF, CRLF or CR (the spec's line ends).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            Some(end) => {
                let skip = if text[end..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&text[end + skip..]);
                Some(&text[..end])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_lines_split_at_every_line_end_and_empty_lines_stay() {
        let event = ServerEvent::data("a\r\nb\rc\n\nd");
        assert_eq!(
            event.to_string(),
            "data: a\ndata: b\ndata: c\ndata:\ndata: d\n\n"
        );
        assert_eq!(ServerEvent::data("").to_string(), "data:\n\n");
    }

    #[test]
    fn an_event_without_fields_is_a_blank_line() {
        assert_eq!(ServerEvent::new().to_string(), "\n");
        assert_eq!(
            ServerEvent::new().comment("hi").id("1").to_string(),
            ": hi\nid: 1\n\n"
        );
    }
}
