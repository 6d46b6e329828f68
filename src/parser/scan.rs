//! Finding line ends.

/// How many 8-byte words of a line are scanned before `memchr2` takes over.
const SCAN_WORDS: usize = 8;

/// The offset of the first CR or LF in `input`: the first `SCAN_WORDS`
/// words are read here, `memchr2` takes the rest of a long line (measured:
/// BENCHMARKS.md).
#[inline]
pub(super) fn find_line_end(input: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    if let (4..8, Some(head), Some(tail)) = (
        input.len(),
        input.first_chunk::<4>(),
        input.last_chunk::<4>(),
    ) {
        // A short input (a small chunk): its first and last four bytes
        // cover it; most often neither has a control character.
        const ONES4: u32 = u32::from_ne_bytes([0x01; 4]);
        const HIGH4: u32 = u32::from_ne_bytes([0x80; 4]);
        let below = |word: u32| word.wrapping_sub(ONES4 * 0x0E) & !word & HIGH4;
        let (head, tail) = (u32::from_le_bytes(*head), u32::from_le_bytes(*tail));
        if below(head) | below(tail) == 0 {
            return None;
        }
    }
    let head = &input[..input.len().min(SCAN_WORDS * 8)];
    let (words, tail) = head.as_chunks::<8>();
    for (n, word) in words.iter().enumerate() {
        let word = u64::from_le_bytes(*word);
        // The bytes below 0x0E (CR). Borrows can mark bytes after the first
        // one, but the lowest mark is always right.
        let below = word.wrapping_sub(ONES * 0x0E) & !word & HIGH;
        if below != 0 {
            let first = n * 8 + (below.trailing_zeros() / 8) as usize;
            if matches!(input[first], b'\n' | b'\r') {
                return Some(first);
            }
            // Another control character (a tab, say): search on after it.
            let from = first + 1;
            return memchr::memchr2(b'\n', b'\r', &input[from..]).map(|offset| from + offset);
        }
    }
    let at = head.len() - tail.len();
    if input.len() > head.len() {
        return memchr::memchr2(b'\n', b'\r', &input[at..]).map(|offset| at + offset);
    }
    tail.iter()
        .position(|&b| b <= b'\r' && (b == b'\n' || b == b'\r'))
        .map(|offset| at + offset)
}

/// Where the next line starts after the line end at `input[end]`, and
/// whether that line end is a CR that ends the input (so that a LF starting
/// the next input belongs to it).
#[inline]
pub(super) fn after_line_end(input: &[u8], end: usize) -> (usize, bool) {
    if input[end] == b'\n' {
        (end + 1, false)
    } else if end + 1 == input.len() {
        (end + 1, true)
    } else if input[end + 1] == b'\n' {
        (end + 2, false)
    } else {
        (end + 1, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_end_scan_agrees_with_a_plain_search() {
        // Every mix of line ends, other control bytes (which the word scan
        // stops at and must pass over), high bytes and plain ones, at every
        // length and offset around the word and memchr2 boundaries.
        let alphabet = [b'\n', b'\r', b'\t', 0, 0x0D - 1, 0x0E, b'a', 0x80, 0xFF];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for len in 0..(SCAN_WORDS * 8 + 40) {
            for _ in 0..200 {
                let input: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        // Mostly plain bytes, so that line ends come late.
                        if state.is_multiple_of(8) {
                            alphabet[(state >> 8) as usize % alphabet.len()]
                        } else {
                            b'a' + (state >> 8) as u8 % 26
                        }
                    })
                    .collect();
                let expected = input.iter().position(|&b| b == b'\n' || b == b'\r');
                assert_eq!(find_line_end(&input), expected, "{input:?}");
            }
        }
    }
}
