//! Code shared by the `ssefeed` fuzz targets and the seed generator: the
//! naive reference parser, a comparable form of what a parser returns, and
//! the input formats of the targets (with encoders, so that seeds can be
//! written from readable event streams and operation lists).

pub mod machine_input;
pub mod reference;

use ssefeed::parser::{Item, ItemRef, ParseError, Parser, StreamEnd};

/// What a parse produced, in a form easy to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// A dispatched event.
    Event {
        /// The event type.
        event_type: String,
        /// The data.
        data: String,
        /// The last event ID it carried.
        last_event_id: String,
    },
    /// A valid `retry:` value, in milliseconds.
    Retry(u64),
    /// A comment (only when comments are reported).
    Comment(String),
    /// A limit error, as its message.
    Error(String),
    /// A skipped event (skip mode).
    Skipped {
        /// Its type, as far as known.
        event_type: String,
        /// The length its data would have had.
        len: usize,
    },
}

impl Out {
    /// The comparable form of a parser item.
    pub fn from_item(item: Result<Item, ParseError>) -> Self {
        match item {
            Ok(Item::Event(event)) => Self::Event {
                event_type: event.event_type().to_owned(),
                data: event.data().to_owned(),
                last_event_id: event.last_event_id().to_owned(),
            },
            Ok(Item::Retry(time)) => {
                Self::Retry(u64::try_from(time.as_millis()).expect("retry fits a u64"))
            }
            Ok(Item::Comment(text)) => Self::Comment(text.to_string()),
            Ok(Item::Skipped(skipped)) => Self::Skipped {
                event_type: skipped.event_type().to_owned(),
                len: skipped.len(),
            },
            Err(error) => Self::Error(error.to_string()),
            Ok(other) => panic!("unknown parser item {other:?}"),
        }
    }
}

/// Takes every item the parser has now, with `next_item_ref`.
pub fn drain_ref(parser: &mut Parser, out: &mut Vec<Out>) {
    while let Some(item) = parser.next_item_ref() {
        out.push(match item {
            Ok(ItemRef::Event(event)) => Out::Event {
                event_type: event.event_type().to_owned(),
                data: event.data().to_owned(),
                last_event_id: event.last_event_id().to_owned(),
            },
            Ok(ItemRef::Retry(time)) => {
                Out::Retry(u64::try_from(time.as_millis()).expect("retry fits a u64"))
            }
            Ok(ItemRef::Comment(text)) => Out::Comment(text.to_owned()),
            Ok(ItemRef::Skipped(skipped)) => Out::Skipped {
                event_type: skipped.event_type().to_owned(),
                len: skipped.len(),
            },
            Err(error) => Out::Error(error.to_string()),
            Ok(other) => panic!("unknown parser item {other:?}"),
        });
    }
}

/// Takes every item the parser has now.
pub fn drain(parser: &mut Parser, out: &mut Vec<Out>) {
    while let Some(item) = parser.next_item() {
        out.push(Out::from_item(item));
    }
}

/// Takes every item the parser has now, as many as a clone of it gives,
/// but not the `None` after them (as a caller that counts its items and
/// feeds again at once).
pub fn drain_without_none(parser: &mut Parser, out: &mut Vec<Out>) {
    let mut ahead = parser.clone();
    let mut count = 0;
    while ahead.next_item().is_some() {
        count += 1;
    }
    for _ in 0..count {
        let item = parser.next_item().expect("an item the clone had");
        out.push(Out::from_item(item));
    }
}

/// Everything observable about one parse, for comparing two of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The items, in order.
    pub items: Vec<Out>,
    /// `Parser::last_event_id` at the end.
    pub last_event_id: String,
    /// `Parser::stream_end` at the end.
    pub stream_end: Option<StreamEnd>,
}

/// The `chunking` target's input: a header byte, a limits byte, split
/// points, the body.
///
/// Header bits 0-3: the number of split points (each a little-endian `u16`
/// taken modulo the body length + 1); bit 4: report comments; bit 5: feed
/// with `feed_slice` instead of `feed`; bit 6: feed every chunk before
/// taking any item; bit 7: take items with `next_item_ref` (when cut).
///
/// Limits byte: 0 for the default limits; otherwise bits 0-2 give a line
/// limit of 1 + 4 × n bytes, bits 3-6 an event limit of 1 + 4 × n bytes,
/// and bit 7 turns skip mode on (`skip_oversized_events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkingInput<'a> {
    /// Report comments.
    pub comments: bool,
    /// Feed copies with `feed_slice`.
    pub feed_slice: bool,
    /// Feed all chunks first, then take the items.
    pub feed_all_first: bool,
    /// Take the items of the cut input with `next_item_ref`.
    pub by_ref: bool,
    /// The limits byte (see above).
    pub limits: u8,
    /// Where the body is cut, sorted, each at most `body.len()`.
    pub splits: Vec<usize>,
    /// The event stream.
    pub body: &'a [u8],
}

impl<'a> ChunkingInput<'a> {
    /// Reads the input format; an empty input is an empty body.
    pub fn decode(data: &'a [u8]) -> Self {
        let (&header, rest) = data.split_first().unwrap_or((&0, &[]));
        let (&limits, rest) = rest.split_first().unwrap_or((&0, &[]));
        let count = usize::from(header & 0x0F).min(rest.len() / 2);
        let (points, body) = rest.split_at(count * 2);
        let mut splits: Vec<usize> = points
            .chunks_exact(2)
            .map(|p| usize::from(u16::from_le_bytes([p[0], p[1]])) % (body.len() + 1))
            .collect();
        splits.sort_unstable();
        Self {
            comments: header & 0x10 != 0,
            feed_slice: header & 0x20 != 0,
            feed_all_first: header & 0x40 != 0,
            by_ref: header & 0x80 != 0,
            limits,
            splits,
            body,
        }
    }

    /// Writes the input format (the inverse of `decode`, for seeds).
    pub fn encode(&self) -> Vec<u8> {
        assert!(self.splits.len() <= 15);
        let mut header = u8::try_from(self.splits.len()).expect("at most 15 splits");
        header |= u8::from(self.comments) << 4;
        header |= u8::from(self.feed_slice) << 5;
        header |= u8::from(self.feed_all_first) << 6;
        header |= u8::from(self.by_ref) << 7;
        let mut out = vec![header, self.limits];
        for &split in &self.splits {
            out.extend_from_slice(&u16::try_from(split).expect("split fits u16").to_le_bytes());
        }
        out.extend_from_slice(self.body);
        out
    }

    /// Skip mode and its limits, when the limits byte turns it on.
    pub fn skip(&self) -> Option<reference::Skip> {
        (self.limits & 0x80 != 0).then(|| reference::Skip {
            max_line_len: 1 + 4 * usize::from(self.limits & 0x07),
            max_event_len: 1 + 4 * usize::from((self.limits >> 3) & 0x0F),
        })
    }

    /// A parser configured as the input says.
    pub fn parser(&self) -> Parser {
        let builder = Parser::builder().comments(self.comments);
        if self.limits == 0 {
            return builder.build();
        }
        builder
            .max_line_len(1 + 4 * usize::from(self.limits & 0x07))
            .max_event_len(1 + 4 * usize::from((self.limits >> 3) & 0x0F))
            .skip_oversized_events(self.limits & 0x80 != 0)
            .build()
    }

    /// The body cut at the split points.
    pub fn chunks(&self) -> Vec<&'a [u8]> {
        let mut chunks = Vec::with_capacity(self.splits.len() + 1);
        let mut from = 0;
        for &to in &self.splits {
            chunks.push(&self.body[from..to]);
            from = to;
        }
        chunks.push(&self.body[from..]);
        chunks
    }
}

/// The `parse` target's input: four header bytes, then the body.
///
/// Byte 0 bit 0: a small line limit (byte 1 + 1); bit 1: a small event
/// limit (byte 2 + 1); bit 2: report comments; bit 3: feed with
/// `feed_slice`; bits 4-7: how many times the body is fed (+ 1).
/// Byte 3: the chunk size (0: each copy of the body whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseInput<'a> {
    /// The line limit.
    pub max_line_len: usize,
    /// The event data limit.
    pub max_event_len: usize,
    /// Report comments.
    pub comments: bool,
    /// Feed copies with `feed_slice`.
    pub feed_slice: bool,
    /// How many times the body is fed, one copy after the other.
    pub repeat: usize,
    /// The chunk size; 0 feeds each copy of the body whole.
    pub chunk: usize,
    /// The event stream (one copy).
    pub body: &'a [u8],
}

impl<'a> ParseInput<'a> {
    /// Reads the input format; missing header bytes are zeros.
    pub fn decode(data: &'a [u8]) -> Self {
        let mut header = [0u8; 4];
        let take = data.len().min(4);
        header[..take].copy_from_slice(&data[..take]);
        let [flags, line, event, chunk] = header;
        Self {
            max_line_len: if flags & 1 != 0 {
                usize::from(line) + 1
            } else {
                ssefeed::parser::DEFAULT_MAX_LINE_LEN
            },
            max_event_len: if flags & 2 != 0 {
                usize::from(event) + 1
            } else {
                ssefeed::parser::DEFAULT_MAX_EVENT_LEN
            },
            comments: flags & 4 != 0,
            feed_slice: flags & 8 != 0,
            repeat: usize::from(flags >> 4) + 1,
            chunk: usize::from(chunk),
            body: &data[take..],
        }
    }

    /// Writes a header with default limits, comments on, fed once whole,
    /// followed by `body` (for seeds).
    pub fn encode_plain(body: &[u8]) -> Vec<u8> {
        let mut out = vec![4, 0, 0, 0];
        out.extend_from_slice(body);
        out
    }
}
