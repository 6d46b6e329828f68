//! What happens to a message between the parser and the consumer when the
//! stream is given a sentinel or de-duplication: a replayed ID is dropped,
//! and the sentinel completes the stream. Neither costs anything per event
//! when it is not configured: `Machine::poll_event` checks one flag and
//! comes here, out of the hot loop, only when it is set.

use crate::error::Error;
use crate::event::{CloseReason, Event, MessageEvent};

use super::{Machine, State};

impl Machine {
    /// [`poll_event`](Machine::poll_event) for an open connection whose
    /// messages are inspected; its queue is empty.
    #[cold]
    #[inline(never)]
    pub(super) fn poll_inspected(&mut self) -> Option<Result<Event, Error>> {
        while matches!(self.state, State::Open { .. }) {
            match self.parser.next_item() {
                Some(Ok(item)) => {
                    if let Some(event) = self.take_item(item) {
                        return Some(Ok(event));
                    }
                }
                Some(Err(error)) => self.fail(error.into()),
                None => break,
            }
        }
        self.pop_queued()
    }

    /// A message on its way out, when a sentinel or de-duplication is
    /// configured: false when it repeats a recent ID (it is dropped);
    /// otherwise it is delivered, and completes the stream when it is the
    /// sentinel.
    #[cold]
    #[inline(never)]
    pub(super) fn admit(&mut self, message: &MessageEvent) -> bool {
        let window = self.config.dedupe_ids;
        if window > 0 && self.parser.event_had_id() && !message.last_event_id().is_empty() {
            let id = message.last_event_id();
            if self.recent_ids.iter().any(|seen| &**seen == id) {
                return false;
            }
            if self.recent_ids.len() == window {
                self.recent_ids.pop_front();
            }
            self.recent_ids.push_back(id.into());
        }
        debug_assert!(self.recent_ids.len() <= window.max(1));
        if self
            .config
            .complete_on
            .as_ref()
            .is_some_and(|is_last| is_last(message))
        {
            self.complete();
        }
        true
    }

    /// The sentinel arrived: the stream is complete. Nothing after it is
    /// read, and the connection is dropped.
    fn complete(&mut self) {
        self.close_with(CloseReason::Completed);
        self.parser.reset();
    }
}

#[cfg(test)]
mod tests {
    use web_time::Instant;

    use super::super::tests::*;
    use crate::event::{CloseReason, ReadyState};
    use crate::machine::{Action, MachineConfig};
    use crate::retry::RetryPolicy;

    fn done() -> MachineConfig {
        MachineConfig::new().complete_on(|m| m.data() == "[DONE]")
    }

    #[test]
    fn the_sentinel_is_delivered_and_nothing_after_it() {
        let t0 = Instant::now();
        for reconnect in [true, false] {
            let mut m = configured(t0, RetryPolicy::new(), done().reconnect(reconnect));
            // The server holds the connection open after it.
            open_with(&mut m, t0, "data: a\n\ndata: [DONE]\n\ndata: after\n\n");
            assert_eq!(
                events(&mut m),
                ["open", "message message a ", "message message [DONE] "]
            );
            assert_eq!(m.ready_state(), ReadyState::Closed);
            assert_eq!(m.close_reason(), Some(&CloseReason::Completed));
            assert_eq!(actions(&mut m), [Action::Disconnect]);
            assert_eq!(m.poll_timeout(), None);
            // What comes later on the dropped connection is ignored.
            m.handle_bytes(t0, "data: late\n\n".into());
            m.handle_eof(t0);
            assert_eq!(events(&mut m), Vec::<String>::new());
        }
    }

    #[test]
    fn a_sentinel_completed_by_the_end_of_the_body_ends_the_stream_there() {
        let t0 = Instant::now();
        let mut m = configured(t0, RetryPolicy::new(), done());
        open_with(&mut m, t0, "data: a\n\ndata: [DONE]\n\ndata: after\n\n");
        let _ = m.poll_event();
        // The end of the body comes before the events are taken.
        m.handle_eof(t0);
        assert_eq!(
            events(&mut m),
            ["message message a ", "message message [DONE] "]
        );
        assert_eq!(m.close_reason(), Some(&CloseReason::Completed));
        assert_eq!(actions(&mut m), [Action::Disconnect]);
    }

    #[test]
    fn a_one_shot_stream_that_ends_before_its_sentinel_was_cut() {
        let t0 = Instant::now();
        let mut m = configured(t0, RetryPolicy::new(), done().reconnect(false));
        open_with(&mut m, t0, "data: a\n\n");
        m.handle_eof(t0);
        assert_eq!(
            events(&mut m),
            [
                "open",
                "message message a ",
                "error: the stream ended before it was complete"
            ]
        );
        assert_eq!(m.close_reason(), Some(&CloseReason::Failed));
        // Without a sentinel the same end is a completed stream.
        let mut m = configured(
            t0,
            RetryPolicy::new(),
            MachineConfig::new().reconnect(false),
        );
        open_with(&mut m, t0, "data: a\n\n");
        m.handle_eof(t0);
        assert_eq!(m.close_reason(), Some(&CloseReason::Completed));
    }

    #[test]
    fn a_reconnecting_feed_with_a_sentinel_reconnects_until_it_comes() {
        let t0 = Instant::now();
        let mut m = configured(t0, RetryPolicy::new(), done());
        open_with(&mut m, t0, "id: 1\ndata: a\n\n");
        m.handle_eof(t0);
        let _ = events(&mut m);
        let (at, connect_to) = wait_reconnect(&mut m);
        assert_eq!(connect_to, connect("1"));
        open_with(&mut m, at, "data: [DONE]\n\n");
        assert_eq!(events(&mut m), ["open", "message message [DONE] 1"]);
        assert_eq!(m.close_reason(), Some(&CloseReason::Completed));
    }

    #[test]
    fn a_replayed_id_is_dropped_within_the_window() {
        let t0 = Instant::now();
        let config = MachineConfig::new().dedupe_ids(2);
        let mut m = configured(t0, RetryPolicy::new(), config);
        open_with(&mut m, t0, "id: 1\ndata: a\n\nid: 2\ndata: b\n\n");
        m.handle_eof(t0);
        let _ = events(&mut m);
        let (at, _) = wait_reconnect(&mut m);
        // The server resends the event named by Last-Event-ID, then one
        // with the same ID as the first (out of the window of 2 by then),
        // and events without an ID of their own.
        open_with(
            &mut m,
            at,
            "id: 2\ndata: b again\n\ndata: no id\n\nid: 3\ndata: c\n\nid: 1\ndata: a again\n\n\
             id: 3\ndata: c again\n\ndata: no id\n\n",
        );
        assert_eq!(
            events(&mut m),
            [
                "open",
                "message message no id 2",
                "message message c 3",
                "message message a again 1",
                "message message no id 3",
            ]
        );
    }

    #[test]
    fn the_id_a_machine_starts_from_counts_as_delivered() {
        let t0 = Instant::now();
        let mut parser = crate::parser::Parser::new();
        parser.set_last_event_id("41");
        let config = MachineConfig::new().dedupe_ids(4);
        let mut m = super::Machine::with_config(t0, parser, RetryPolicy::new(), config);
        let _ = actions(&mut m);
        open_with(&mut m, t0, "id: 41\ndata: replay\n\nid: 42\ndata: new\n\n");
        assert_eq!(events(&mut m), ["open", "message message new 42"]);
    }

    #[test]
    fn without_dedupe_a_replay_is_delivered_as_the_spec_says() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        open_with(&mut m, t0, "id: 1\ndata: a\n\nid: 1\ndata: a\n\n");
        assert_eq!(
            events(&mut m),
            ["open", "message message a 1", "message message a 1"]
        );
    }
}
