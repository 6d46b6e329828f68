//! The generated events that the parser bench (`benches/parser/parser.rs`) and the
//! end-to-end bench (`benches/e2e`) both use, included by path in each, so
//! that the two measure the same events.

use std::fmt::Write as _;

/// A deterministic xorshift64* generator: the corpora are the same on every
/// run and every machine.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `items`.
    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// The seed of the token events' generator.
pub(crate) const TOKEN_SEED: u64 = 1;
/// The seed of the notifications' generator.
pub(crate) const NOTIFICATION_SEED: u64 = 2;

/// Words of notification texts, some of them not ASCII.
pub(crate) const WORDS: &[&str] = &[
    "the",
    "stream",
    "parser",
    "event",
    "token",
    "model",
    "reply",
    "chunk",
    "delta",
    "value",
    "server",
    "client",
    "résumé",
    "naïve",
    "日本語",
    "emoji 🎉",
    "data",
    "field",
    "line",
    "byte",
];

const TOKENS: &[&str] = &[
    "Hello", " world", ",", " the", " a", " of", " and", " to", " in", " is", " that", " it", ".",
    "\\n", "\\n\\n", " stream", "ing", " token", " café", " 日本", "語", " —", " \\\"", "42",
    " parser", " Rust", "'s", " event", "s", " server",
];

const KINDS: &[&str] = &["notification", "mention", "like", "follow"];

/// One LLM token event: a ~50-byte JSON `data:` line and a blank line.
pub(crate) fn token(rng: &mut Rng, out: &mut String) {
    let token = rng.pick(TOKENS);
    let _ = write!(
        out,
        "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{token}\"}}}}]}}\n\n"
    );
}

/// Notification `n`: ~200 bytes with `id:`, `event:` and a JSON `data:`
/// line, and a blank line.
pub(crate) fn notification(rng: &mut Rng, n: usize, out: &mut String) {
    let kind = rng.pick(KINDS);
    let user = rng.below(100_000);
    let mut text = String::new();
    while text.len() < 40 + rng.below(60) {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(rng.pick(WORDS));
    }
    let _ = write!(
        out,
        "id: {n}\nevent: {kind}\ndata: {{\"id\":{n},\"type\":\"{kind}\",\"user\":\"user{user}\",\
         \"text\":\"{text}\",\"ts\":{}}}\n\n",
        1_700_000_000_000 + n as u64 * 37
    );
}
