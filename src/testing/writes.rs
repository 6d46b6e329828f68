//! How a response's body is cut into writes.

/// How the server cuts a response's body into `write` calls.
///
/// Offsets count the body's bytes (before any gzip), from 0; the head goes
/// in a write of its own before them (for [`Response::verbatim`](super::Response::verbatim),
/// which has no head, they count from the reply's first byte). A
/// [`pause`](super::Response::pause) or a gate always ends a write. Each write is
/// one `write` on a socket with `TCP_NODELAY`: with a
/// [`write_gap`](super::Response::write_gap) or a pause between them, the
/// client reads them apart; without one, the network and the client's reads
/// may join them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Writes {
    /// As few writes as possible: the body between pauses in one (a long
    /// [`repeat`](super::Response::repeat) in writes of 64 KiB).
    #[default]
    Whole,
    /// Every byte a write of its own.
    ByteByByte,
    /// A new write starts at each of these body offsets (in any order;
    /// offsets past the end are ignored).
    At(Vec<usize>),
    /// Writes of random lengths from 1 to `max_len` bytes, the same for the
    /// same `seed` on every run.
    Random {
        /// The seed of the lengths.
        seed: u64,
        /// The longest write, in bytes (0 is taken as 1).
        max_len: usize,
    },
}

/// Where, from a body offset, the next write must end: an iterator of cut
/// offsets in increasing order.
#[derive(Debug)]
pub(super) struct Cuts {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    None,
    Every,
    At(Vec<usize>, usize),
    Random {
        state: u64,
        max_len: usize,
        next: usize,
    },
}

impl Cuts {
    pub(super) fn new(writes: &Writes) -> Self {
        let kind = match writes {
            Writes::Whole => Kind::None,
            Writes::ByteByByte => Kind::Every,
            Writes::At(offsets) => {
                let mut offsets = offsets.clone();
                offsets.sort_unstable();
                offsets.dedup();
                Kind::At(offsets, 0)
            }
            Writes::Random { seed, max_len } => {
                let mut kind = Kind::Random {
                    state: *seed,
                    max_len: (*max_len).max(1),
                    next: 0,
                };
                kind.advance_random();
                kind
            }
        };
        Self { kind }
    }

    /// The first cut after `pos`, if any.
    pub(super) fn next_after(&mut self, pos: usize) -> Option<usize> {
        match &mut self.kind {
            Kind::None => None,
            Kind::Every => Some(pos + 1),
            Kind::At(offsets, index) => {
                while offsets.get(*index).is_some_and(|&at| at <= pos) {
                    *index += 1;
                }
                offsets.get(*index).copied()
            }
            Kind::Random { .. } => {
                while matches!(self.kind, Kind::Random { next, .. } if next <= pos) {
                    self.kind.advance_random();
                }
                match self.kind {
                    Kind::Random { next, .. } => Some(next),
                    _ => None,
                }
            }
        }
    }
}

impl Kind {
    fn advance_random(&mut self) {
        if let Self::Random {
            state,
            max_len,
            next,
        } = self
        {
            let len = (splitmix64(state) % *max_len as u64) as usize + 1;
            *next += len;
        }
    }
}

/// SplitMix64: a small, good-enough generator, so that a seed gives the
/// same writes everywhere without a dependency.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cuts(writes: &Writes, len: usize) -> Vec<usize> {
        let mut cuts = Cuts::new(writes);
        let mut pos = 0;
        let mut out = Vec::new();
        while let Some(at) = cuts.next_after(pos).filter(|&at| at < len) {
            out.push(at);
            pos = at;
        }
        out
    }

    #[test]
    fn each_kind_cuts_where_it_says() {
        assert_eq!(cuts(&Writes::Whole, 10), [] as [usize; 0]);
        assert_eq!(cuts(&Writes::ByteByByte, 4), [1, 2, 3]);
        assert_eq!(cuts(&Writes::At(vec![7, 3, 3, 0, 40]), 10), [3, 7]);
        let random = Writes::Random {
            seed: 9,
            max_len: 4,
        };
        let first = cuts(&random, 100);
        assert_eq!(first, cuts(&random, 100), "the same seed, the same cuts");
        assert!(first.windows(2).all(|w| (1..=4).contains(&(w[1] - w[0]))));
        assert!(first.len() >= 100 / 4 - 1);
        let other = cuts(
            &Writes::Random {
                seed: 10,
                max_len: 4,
            },
            100,
        );
        assert_ne!(first, other);
    }
}
