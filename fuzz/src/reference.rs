//! A naive reference parser: the WHATWG event stream interpretation applied
//! literally to the whole input at once, with none of the real parser's
//! tricks (no chunks, no carry, no zero-copy; limits only as skip mode).
//!
//! <https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>

use crate::Out;

/// What the reference makes of a whole stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Events, `retry:` values and (when asked for) comments, in order.
    pub items: Vec<Out>,
    /// For each item, whether it is an event with a valid `id:` field of its
    /// own (not only the last event ID from before it).
    pub own_id: Vec<bool>,
    /// The last event ID string after the last dispatch.
    pub last_event_id: String,
    /// The last valid `retry:` value, in milliseconds.
    pub retry: Option<u64>,
    /// Whether the input ended at an event boundary: no unterminated line,
    /// and no field since the last blank line that the end discarded.
    pub complete: bool,
}

/// Skip mode (`ParserBuilder::skip_oversized_events`) and its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skip {
    /// The longest line kept, in bytes.
    pub max_line_len: usize,
    /// The largest event data kept, in decoded bytes with a LF per value.
    pub max_event_len: usize,
}

/// Interprets `input` as one whole event stream that has ended.
/// `initial_id` is the last event ID the stream starts from (a reconnect
/// keeps it).
pub fn parse(input: &[u8], comments: bool, initial_id: &str) -> Outcome {
    parse_with(input, comments, initial_id, None)
}

/// [`parse`], and with `skip`, as skip mode documents it: an event with a
/// `data`, `event` or `id` line longer than the line limit, or with data
/// larger than the event limit, is a notice (`Out::Skipped`) whose id is not
/// adopted; any other line that long is dropped.
pub fn parse_with(input: &[u8], comments: bool, initial_id: &str, skip: Option<Skip>) -> Outcome {
    // "The stream must then be parsed by reading everything line by line
    // [...] UTF-8 decode": one leading BOM is stripped, errors are replaced.
    // (Each line is decoded on its own, after the split: the same, as CR
    // and LF never occur inside a multi-byte sequence; skip mode's line
    // limit counts raw bytes.)
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);

    // Lines end with CRLF, LF or CR; the unterminated tail is not a line.
    let mut lines = Vec::new();
    let mut rest = input;
    while let Some(at) = rest.iter().position(|&b| b == b'\r' || b == b'\n') {
        lines.push(&rest[..at]);
        let eol = if rest[at..].starts_with(b"\r\n") {
            2
        } else {
            1
        };
        rest = &rest[at + eol..];
    }
    let tail = rest;

    let mut items = Vec::new();
    let mut own_id = Vec::new();
    // A valid `id` field since the last blank line.
    let mut id_field = false;
    let mut data = String::new();
    let mut event_type = String::new();
    let mut id_buffer = initial_id.to_owned();
    let mut last_event_id = initial_id.to_owned();
    let mut retry = None;
    // Skip mode: a `data`, `event` or `id` line of this event was too long.
    let mut oversized = false;

    for raw in lines {
        let line = String::from_utf8_lossy(raw);
        let too_long = skip.is_some_and(|skip| raw.len() > skip.max_line_len);
        // "If the line is empty (a blank line): Dispatch the event."
        if line.is_empty() {
            // Skip mode: an event too large (its data with a LF per value,
            // decoded) is a notice, and its id is not adopted.
            let too_large = skip.is_some_and(|skip| data.len() > skip.max_event_len);
            if (oversized || too_large) && !data.is_empty() {
                let kind = if event_type.is_empty() {
                    "message".to_owned()
                } else {
                    event_type.clone()
                };
                items.push(Out::Skipped {
                    event_type: kind,
                    len: data.len() - 1,
                });
                own_id.push(false);
                id_field = false;
                id_buffer.clone_from(&last_event_id);
                data.clear();
                event_type.clear();
                oversized = false;
                continue;
            }
            oversized = false;
            // 1. "Set the last event ID string of the event source to the
            //    value of the last event ID buffer."
            last_event_id.clone_from(&id_buffer);
            let had_id = std::mem::take(&mut id_field);
            // 2. "If the data buffer is an empty string, set the data buffer
            //    and the event type buffer to the empty string and return."
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            // 3. "If the data buffer's last character is a U+000A LINE FEED
            //    (LF) character, then remove the last character."
            if data.ends_with('\n') {
                data.pop();
            }
            // 4-5. The type is the event type buffer, or "message".
            let kind = if event_type.is_empty() {
                "message".to_owned()
            } else {
                event_type.clone()
            };
            items.push(Out::Event {
                event_type: kind,
                data: std::mem::take(&mut data),
                last_event_id: last_event_id.clone(),
            });
            own_id.push(had_id);
            event_type.clear();
            continue;
        }
        // "If the line starts with a U+003A COLON character (:): Ignore the
        // line." (Reported when comments are asked for, unless too long.)
        if let Some(comment) = line.strip_prefix(':') {
            if comments && !too_long {
                let comment = comment.strip_prefix(' ').unwrap_or(comment);
                items.push(Out::Comment(comment.to_owned()));
                own_id.push(false);
            }
            continue;
        }
        // "If the line contains a U+003A COLON character (:)": name before,
        // value after, without one leading U+0020 SPACE. Otherwise the whole
        // line is the name and the value is empty.
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        if too_long {
            // Its data is counted; its type is no longer known; any other
            // field is dropped.
            match name {
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                    oversized = true;
                }
                "event" => {
                    event_type.clear();
                    oversized = true;
                }
                "id" => oversized = true,
                _ => {}
            }
            continue;
        }
        match name {
            "event" => value.clone_into(&mut event_type),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            // "If the field value does not contain U+0000 NULL".
            "id" if !value.contains('\0') => {
                value.clone_into(&mut id_buffer);
                id_field = true;
            }
            // Only ASCII digits, at least one; too large for a u64 is
            // ignored.
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(millis) = value.parse::<u64>() {
                    retry = Some(millis);
                    items.push(Out::Retry(millis));
                    own_id.push(false);
                }
            }
            _ => {}
        }
    }

    let complete = tail.is_empty()
        && data.is_empty()
        && event_type.is_empty()
        && id_buffer == last_event_id
        && !oversized;
    debug_assert_eq!(items.len(), own_id.len());
    Outcome {
        items,
        own_id,
        last_event_id,
        retry,
        complete,
    }
}
