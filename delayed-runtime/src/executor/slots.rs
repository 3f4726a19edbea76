//! The threaded scheduler's concurrency protocol, small enough to
//! model-check: CPU slots and how a blocked task lends its own ([`Slots`],
//! [`Seat`]), and how an idle worker goes to sleep without stranding a
//! task queued at the same moment ([`Parking`]).
//!
//! Built with `--cfg delayed_loom`, the primitives are `loom`'s and the
//! tests at the end explore every interleaving; see `README.md` beside this
//! file for the invariants they check.

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use crate::sync::{AtomicIsize, AtomicU8, AtomicUsize, Condvar, Mutex, MutexGuard, lock};

/// The CPU slots of a pool: how many more tasks may start now. It goes
/// below zero when blocked tasks that lent their slot run again, and then
/// no task starts until enough running ones finish.
pub(crate) struct Slots {
    free: AtomicIsize,
}

impl Slots {
    pub(crate) fn new(slots: usize) -> Slots {
        Slots {
            free: AtomicIsize::new(isize::try_from(slots).unwrap_or(isize::MAX)),
        }
    }

    /// Takes a slot if one is free.
    pub(crate) fn try_take(&self) -> bool {
        self.free
            .fetch_update(SeqCst, SeqCst, |free| (free > 0).then_some(free - 1))
            .is_ok()
    }

    /// Gives a slot back; returns whether one is free now.
    pub(crate) fn give(&self) -> bool {
        self.free.fetch_add(1, SeqCst) >= 0
    }

    /// Whether a task may start now.
    pub(crate) fn any_free(&self) -> bool {
        self.free.load(SeqCst) > 0
    }

    /// Whether more tasks run than there are slots.
    fn overcommitted(&self) -> bool {
        self.free.load(SeqCst) < 0
    }
}

const IDLE: u8 = 0;
const HOLDING: u8 = 1;
const LENT: u8 = 2;

/// What one worker thread holds: nothing (between tasks), a slot (its
/// task runs), or a slot it lent because its task is blocked. Every change
/// is one compare-and-swap, so the worker finishing its task and the
/// monitor lending or reclaiming its slot never both act on the same slot.
pub(crate) struct Seat {
    state: AtomicU8,
}

impl Seat {
    pub(crate) fn new() -> Seat {
        Seat {
            state: AtomicU8::new(IDLE),
        }
    }

    /// Sits down with a slot the caller took from `Slots::try_take`.
    pub(crate) fn hold(&self) {
        self.state.store(HOLDING, SeqCst);
    }

    /// Whether this worker runs a task (holding or lending its slot).
    pub(crate) fn is_busy(&self) -> bool {
        self.state.load(SeqCst) != IDLE
    }

    pub(crate) fn is_lent(&self) -> bool {
        self.state.load(SeqCst) == LENT
    }

    /// The task is blocked: lend its slot to another task. Returns whether
    /// this call lent it (it may be lent already, or the task gone).
    pub(crate) fn lend(&self, slots: &Slots) -> bool {
        let lent = self
            .state
            .compare_exchange(HOLDING, LENT, SeqCst, SeqCst)
            .is_ok();
        if lent {
            slots.give();
        }
        lent
    }

    /// The task runs again: take its slot back, even if that overcommits
    /// the pool for a moment. Returns whether this call took it back.
    pub(crate) fn reclaim(&self, slots: &Slots) -> bool {
        let reclaimed = self
            .state
            .compare_exchange(LENT, HOLDING, SeqCst, SeqCst)
            .is_ok();
        if reclaimed {
            slots.free.fetch_sub(1, SeqCst);
        }
        reclaimed
    }

    /// A task that waited goes on: it holds a slot again, taken back even
    /// if that overcommits the pool for a moment (it cannot wait for one:
    /// its own nested work may be what frees them).
    pub(crate) fn rejoin(&self, slots: &Slots) {
        if self.reclaim(slots) {
            return;
        }
        if self
            .state
            .compare_exchange(IDLE, HOLDING, SeqCst, SeqCst)
            .is_ok()
        {
            slots.free.fetch_sub(1, SeqCst);
        }
    }

    /// The task is done: gives the slot back unless it was lent. Returns
    /// whether a slot was given back.
    pub(crate) fn release(&self, slots: &Slots) -> bool {
        if self.state.swap(IDLE, SeqCst) == HOLDING {
            slots.give();
            return true;
        }
        false
    }

    /// Between two tasks: whether the worker may start the next one now.
    /// It keeps a slot it holds unless the pool is overcommitted. A worker
    /// whose slot is lent goes on without one: its task blocked, and the
    /// next one likely will too (a fan of downloads ramps up one thread per
    /// blocked task instead of one per detection); if the next one computes
    /// instead, the monitor takes the slot back. When this returns false
    /// the worker holds nothing.
    pub(crate) fn go_on(&self, slots: &Slots) -> bool {
        match self.state.load(SeqCst) {
            HOLDING if !slots.overcommitted() => return true,
            LENT => return true,
            _ => {}
        }
        self.release(slots);
        if slots.try_take() {
            self.hold();
            return true;
        }
        false
    }
}

/// Where idle workers sleep, beside the state `S` that says whether there
/// is work for them.
///
/// A worker counts itself idle *before* it looks for work under the lock,
/// and whoever makes work available (queues a task, frees a slot) looks at
/// the count *after*: either the worker sees the work, or the waker sees
/// the worker and notifies it under the same lock. No task is stranded.
pub(crate) struct Parking<S> {
    state: Mutex<S>,
    wake: Condvar,
    idle: AtomicUsize,
}

impl<S> Parking<S> {
    pub(crate) fn new(state: S) -> Parking<S> {
        Parking {
            state: Mutex::new(state),
            wake: Condvar::new(),
            idle: AtomicUsize::new(0),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, S> {
        lock(&self.state)
    }

    /// Whether any worker is idle or about to be.
    pub(crate) fn anyone_idle(&self) -> bool {
        self.idle.load(SeqCst) > 0
    }

    /// Wakes one idle worker, if any; call after making work available.
    pub(crate) fn wake_one(&self) -> bool {
        if !self.anyone_idle() {
            return false;
        }
        let _state = self.lock();
        self.wake.notify_one();
        true
    }

    /// Wakes every idle worker (shutdown).
    pub(crate) fn wake_all(&self) {
        let _state = self.lock();
        self.wake.notify_all();
    }

    /// Sleeps until `work` says there is something to do (returns the
    /// locked state) or `give_up` says to stop waiting (returns `None`),
    /// waking at least every `timeout` to ask `give_up` again.
    pub(crate) fn park(
        &self,
        timeout: Option<Duration>,
        mut work: impl FnMut(&mut S) -> bool,
        mut give_up: impl FnMut(&mut S, bool) -> bool,
    ) -> Option<MutexGuard<'_, S>> {
        let mut state = self.lock();
        self.idle.fetch_add(1, SeqCst);
        let woke = loop {
            if work(&mut state) {
                break true;
            }
            let timed_out = match timeout {
                Some(timeout) => {
                    let (next, waited) = self
                        .wake
                        .wait_timeout(state, timeout)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    state = next;
                    waited.timed_out()
                }
                None => {
                    state = self
                        .wake
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    false
                }
            };
            if !work(&mut state) && give_up(&mut state, timed_out) {
                break false;
            }
        };
        self.idle.fetch_sub(1, SeqCst);
        woke.then_some(state)
    }
}

#[cfg(all(test, delayed_loom))]
mod model {
    //! `RUSTFLAGS="--cfg delayed_loom" cargo test -p delayed-runtime --lib
    //! --release model`; `.ci/run` runs them with a bound on preemptions.

    use super::*;
    use crate::node::{Inputs, ResultSlot};
    use crate::value::Value;
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicBool;
    use loom::thread;
    use std::collections::VecDeque;

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        builder.check(f);
    }

    /// A worker runs and finishes a task while the monitor lends its slot
    /// and takes it back: the slot is counted exactly once, whatever the
    /// interleaving, and the worker ends holding nothing.
    #[test]
    fn lending_and_reclaiming_conserve_slots() {
        model(|| {
            let slots = Arc::new(Slots::new(1));
            let seat = Arc::new(Seat::new());
            assert!(slots.try_take());
            seat.hold();
            let monitor = {
                let (slots, seat) = (slots.clone(), seat.clone());
                thread::spawn(move || {
                    if seat.lend(&slots) {
                        // Another task may take the lent slot meanwhile.
                        let other = slots.try_take();
                        seat.reclaim(&slots);
                        if other {
                            slots.give();
                        }
                    }
                })
            };
            // The worker finishes its task and, between two tasks, asks
            // whether it may go on, then stops.
            if seat.go_on(&slots) {
                seat.release(&slots);
            }
            monitor.join().unwrap();
            seat.release(&slots);
            assert_eq!(slots.free.load(SeqCst), 1, "every slot is free again");
            assert!(!seat.is_busy());
        });
    }

    /// A worker that finds the queue empty goes to sleep while another
    /// thread queues a task and wakes it: the task is always run.
    #[test]
    fn no_queued_task_is_stranded() {
        model(|| {
            let parking = Arc::new(Parking::new(()));
            let queue = Arc::new(Mutex::new(VecDeque::new()));
            let ran = Arc::new(AtomicBool::new(false));
            let worker = {
                let (parking, queue, ran) = (parking.clone(), queue.clone(), ran.clone());
                thread::spawn(move || {
                    loop {
                        if lock(&queue).pop_front().is_some() {
                            ran.store(true, SeqCst);
                            return;
                        }
                        let parked = parking.park(None, |_| !lock(&queue).is_empty(), |_, _| false);
                        drop(parked);
                    }
                })
            };
            lock(&queue).push_back(7_u32);
            parking.wake_one();
            worker.join().unwrap();
            assert!(ran.load(SeqCst));
        });
    }

    /// Two by-value consumers of one value read it at the same time: one
    /// clones it under the slot's lock, the other gets the only reference
    /// and can move the value, in every interleaving.
    #[test]
    fn the_last_consumer_takes_the_only_reference() {
        model(|| {
            let results: std::sync::Arc<[Mutex<ResultSlot>]> = std::sync::Arc::new([Mutex::new(
                ResultSlot::new(Some(Value::new(vec![1_u8, 2, 3])), 2),
            )]);
            let read = |results: &[Mutex<ResultSlot>]| {
                let mut inputs = Inputs::new(results, &[0]);
                let read = inputs.take_or_clone(0, |value| value.cloned::<Vec<u8>>(Vec::clone));
                match read {
                    Ok(value) => value.owned::<Vec<u8>>(|_| panic!("the only reference")),
                    Err(cloned) => cloned,
                }
            };
            let other = {
                let results = std::sync::Arc::clone(&results);
                thread::spawn(move || read(&results))
            };
            assert_eq!(read(&results), [1, 2, 3]);
            assert_eq!(other.join().unwrap(), [1, 2, 3]);
            assert!(
                lock(&results[0]).value().is_none(),
                "nothing is left behind"
            );
        });
    }
}
