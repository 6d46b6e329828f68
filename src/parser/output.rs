//! Owned and borrowed items, and the failure path.

use super::buffers::Taking;
use super::error::ParseError;
use super::item::{Item, ItemRef};
use super::lines::Next;
use super::{Lifecycle, Parser};

impl Parser {
    /// The read loop for an owned item, out of line: what the public
    /// `next_item` calls.
    pub(super) fn next_owned(&mut self) -> Option<Result<Item, ParseError>> {
        self.next_owned_inline()
    }

    /// [`next_owned`](Self::next_owned), inlined where it is called: in the
    /// client's hot loop (see [`next_item_inline`](Self::next_item_inline)).
    #[inline(always)]
    pub(super) fn next_owned_inline(&mut self) -> Option<Result<Item, ParseError>> {
        self.buffers.set_taking(Taking::Owned);
        match self.advance() {
            Next::NeedInput => None,
            Next::Item(item) => Some(
                item.map(Item::from)
                    .map_err(|error| self.lifecycle.fail(error)),
            ),
            // The event is built here, in the caller's return slot, not
            // moved through a Result first (measured: BENCHMARKS.md).
            Next::Dispatch => {
                self.check_dispatched_text();
                let (input, text) = self.fed.with_text();
                match self.buffers.take_owned(input, text) {
                    Ok(event) => Some(Ok(Item::Event(event))),
                    Err(error) => Some(self.dispatch_failed(error)),
                }
            }
        }
    }

    pub(super) fn next_borrowed(&mut self) -> Option<Result<ItemRef<'_>, ParseError>> {
        self.buffers.release_held();
        self.buffers.set_taking(Taking::Borrowed);
        let item = match self.advance() {
            Next::NeedInput => return None,
            Next::Item(item) => item.map(|item| self.buffers.hold(item)),
            Next::Dispatch => {
                self.check_dispatched_text();
                let (input, text) = self.fed.with_text();
                self.buffers.take_ref(input, text)
            }
        };
        // (The closure takes only `lifecycle`, which the item does not
        // borrow.)
        Some(item.map_err(|error| self.lifecycle.fail(error)))
    }

    /// An owned event that was over a limit at dispatch: the one failure, or
    /// in skip mode the notice `take_owned` left.
    #[cold]
    fn dispatch_failed(&mut self, error: ParseError) -> Result<Item, ParseError> {
        if self.buffers.skip_oversized() {
            Ok(Item::Skipped(self.buffers.skipped().clone()))
        } else {
            Err(self.lifecycle.fail(error))
        }
    }

    /// At a dispatch: a data value that lies in the input is read from the
    /// chunk's validated text, when the chunk is worth validating whole.
    #[inline(always)]
    fn check_dispatched_text(&mut self) {
        if self.buffers.data_in_input() {
            self.fed.check_text();
        }
    }
}

impl Lifecycle {
    /// The one failure path: a limit was exceeded, so the stream ends here.
    /// Nothing more is read; the input is let go of at the next call.
    #[cold]
    fn fail(&mut self, error: ParseError) -> ParseError {
        *self = Self::Failed;
        error
    }
}
