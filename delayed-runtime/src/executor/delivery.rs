//! Handing a compute's outcome to whoever waits for it: a blocked thread,
//! an async task, or both. The blocking `compute`, `Client::submit`'s
//! `Running` and `as_completed` share it.

use std::sync::Arc;
use std::task::Waker;
use std::thread::Thread;

use super::ComputeOutcome;
use crate::error::Error;
use crate::sync::{Mutex, lock};

/// Who waits for something: an async task's waker, a parked thread.
#[derive(Default)]
pub(crate) struct Waiters {
    waker: Option<Waker>,
    thread: Option<Thread>,
}

impl Waiters {
    /// Registers `waker`, or the calling thread if there is none.
    pub(crate) fn register(&mut self, waker: Option<&Waker>) {
        match waker {
            Some(waker) => self.waker = Some(waker.clone()),
            None => self.thread = Some(std::thread::current()),
        }
    }

    /// Takes the waiters out, to wake them once the lock is released.
    pub(crate) fn take(&mut self) -> Waiters {
        std::mem::take(self)
    }

    pub(crate) fn wake(self) {
        if let Some(waker) = self.waker {
            waker.wake();
        }
        if let Some(thread) = self.thread {
            thread.unpark();
        }
    }
}

/// Where the outcome arrives, and who waits for it.
#[derive(Default)]
pub(crate) struct Watch {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    outcome: Option<ComputeOutcome>,
    delivered: bool,
    waiters: Waiters,
}

/// What [`Watch::take`] found.
pub(crate) enum Arrival {
    Here(ComputeOutcome),
    /// Delivered, and taken by an earlier call.
    Taken,
    NotYet,
}

impl Watch {
    /// Takes the outcome if it has arrived; registers `waker` (or the
    /// calling thread) to be woken when it does otherwise.
    pub(crate) fn take(&self, waker: Option<&Waker>) -> Arrival {
        let mut state = lock(&self.state);
        match state.outcome.take() {
            Some(outcome) => Arrival::Here(outcome),
            None if state.delivered => Arrival::Taken,
            None => {
                state.waiters.register(waker);
                Arrival::NotYet
            }
        }
    }

    /// Whether the outcome has arrived (it may have been taken since).
    pub(crate) fn is_delivered(&self) -> bool {
        lock(&self.state).delivered
    }

    /// Stores the outcome (the first one only) and wakes the waiters.
    pub(crate) fn deliver(&self, outcome: ComputeOutcome) {
        let mut state = lock(&self.state);
        if state.delivered {
            return;
        }
        state.outcome = Some(outcome);
        state.delivered = true;
        let waiters = state.waiters.take();
        drop(state);
        waiters.wake();
    }
}

/// The compute's end of a [`Watch`]: delivers [`Error::stopped`] if the
/// compute ends without an outcome, so that no waiter waits forever.
pub(crate) struct Sender(pub(crate) Arc<Watch>);

impl Sender {
    pub(crate) fn send(self, outcome: ComputeOutcome) {
        self.0.deliver(outcome);
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.0.deliver(Err(Error::stopped()));
    }
}
