//! A naive reference parser: the WHATWG event stream interpretation applied
//! literally to the whole input at once, with none of the real parser's
//! tricks (no chunks, no carry, no zero-copy, no limits).
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

/// Interprets `input` as one whole event stream that has ended.
/// `initial_id` is the last event ID the stream starts from (a reconnect
/// keeps it).
pub fn parse(input: &[u8], comments: bool, initial_id: &str) -> Outcome {
    // "The stream must then be parsed by reading everything line by line
    // [...] UTF-8 decode": one leading BOM is stripped, errors are replaced.
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = String::from_utf8_lossy(input);

    // Lines end with CRLF, LF or CR; the unterminated tail is not a line.
    let mut lines = Vec::new();
    let mut rest: &str = &text;
    while let Some(at) = rest.find(['\r', '\n']) {
        lines.push(&rest[..at]);
        let eol = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
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

    for line in lines {
        // "If the line is empty (a blank line): Dispatch the event."
        if line.is_empty() {
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
        // line." (Reported when comments are asked for.)
        if let Some(comment) = line.strip_prefix(':') {
            if comments {
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
            None => (line, ""),
        };
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

    let complete =
        tail.is_empty() && data.is_empty() && event_type.is_empty() && id_buffer == last_event_id;
    debug_assert_eq!(items.len(), own_id.len());
    Outcome {
        items,
        own_id,
        last_event_id,
        retry,
        complete,
    }
}
