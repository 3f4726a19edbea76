//! A client's resources (`ClientBuilder::resources`): what its tasks may
//! hold at once. A task that needs some takes them when it starts and
//! gives them back when it ends; one that finds them taken waits here,
//! holding nothing, and is sent back to its compute when enough are
//! given back, highest priority first.

use std::collections::HashMap;
use std::sync::Weak;

use super::ready::Ranked;
use crate::resources::Resources;
use crate::sync::{Mutex, lock};

/// A client's resources, and the tasks waiting for them.
pub(crate) struct Gate<J> {
    state: Mutex<State<J>>,
}

struct State<J> {
    /// What is not held, by name.
    free: HashMap<String, u64>,
    /// Tasks that found their resources held, by priority.
    waiting: Ranked<Waiter<J>>,
}

/// A task waiting for resources: its compute, index, and what it needs.
struct Waiter<J> {
    job: Weak<J>,
    task: u32,
    needs: Resources,
}

impl<J> Gate<J> {
    /// A gate over `capacity`, all of it free.
    pub(crate) fn new(capacity: Resources) -> Gate<J> {
        let free = capacity
            .iter()
            .map(|(name, amount)| (name.to_owned(), amount))
            .collect();
        Gate {
            state: Mutex::new(State {
                free,
                waiting: Ranked::default(),
            }),
        }
    }

    /// Takes `needs` for a task that starts; when they are not all free,
    /// takes nothing, and the task waits (`job`'s `task`, of `priority`)
    /// until [`give_back`](Self::give_back) hands it back.
    pub(crate) fn take(&self, needs: &Resources, job: Weak<J>, task: u32, priority: i32) -> bool {
        let mut state = lock(&self.state);
        if state.fits(needs) {
            for (name, amount) in needs.iter() {
                *state.free.get_mut(name).expect("fits checked the name") -= amount;
            }
            return true;
        }
        let needs = needs.clone();
        state.waiting.push(Waiter { job, task, needs }, priority);
        false
    }

    /// Gives back what a task held; returns the waiting tasks that now
    /// fit, highest priority first, to send back to their computes (which
    /// take their resources when they start, or wait again). A waiter
    /// whose compute is gone is forgotten.
    pub(crate) fn give_back(&self, held: &Resources) -> Vec<(Weak<J>, u32)> {
        let mut state = lock(&self.state);
        for (name, amount) in held.iter() {
            *state.free.get_mut(name).expect("held what it took") += amount;
        }
        // What the ones let through will take, so that no more are let
        // through than fit together.
        let mut free = state.free.clone();
        let through = state.waiting.take_some(|waiter| {
            if waiter.job.strong_count() == 0 {
                return None;
            }
            let fits = waiter
                .needs
                .iter()
                .all(|(name, amount)| free.get(name).is_some_and(|&f| f >= amount));
            if fits {
                for (name, amount) in waiter.needs.iter() {
                    *free.get_mut(name).expect("fits checked the name") -= amount;
                }
            }
            Some(fits)
        });
        (through.into_iter())
            .map(|waiter| (waiter.job, waiter.task))
            .collect()
    }
}

impl<J> State<J> {
    fn fits(&self, needs: &Resources) -> bool {
        needs
            .iter()
            .all(|(name, amount)| self.free.get(name).is_some_and(|&free| free >= amount))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_task_holds_its_resources_and_the_waiters_come_back_by_priority() {
        let gate: Gate<()> = Gate::new(Resources::from([("gpu", 2)]));
        let job = Arc::new(());
        let one = Resources::from([("gpu", 1)]);
        let two = Resources::from([("gpu", 2)]);
        assert!(gate.take(&one, Arc::downgrade(&job), 0, 0));
        assert!(gate.take(&one, Arc::downgrade(&job), 1, 0));
        assert!(!gate.take(&one, Arc::downgrade(&job), 2, 0));
        assert!(!gate.take(&two, Arc::downgrade(&job), 3, 5));
        assert!(!gate.take(&one, Arc::downgrade(&job), 4, 1));
        // One GPU back: the waiter of priority 5 needs two, so 4 goes.
        let through: Vec<u32> = gate.give_back(&one).into_iter().map(|(_, t)| t).collect();
        assert_eq!(through, [4]);
        assert!(gate.take(&one, Arc::downgrade(&job), 4, 1));
        gate.give_back(&one);
        let through: Vec<u32> = gate.give_back(&one).into_iter().map(|(_, t)| t).collect();
        assert_eq!(through, [3], "both free: the priority-5 task needing two");
        drop(job);
        assert!(
            gate.give_back(&Resources::new()).is_empty(),
            "a gone compute's waiter is dropped"
        );
    }
}

#[cfg(all(test, delayed_loom))]
mod model {
    //! `RUSTFLAGS="--cfg delayed_loom" cargo test -p delayed-runtime --lib
    //! --release model`; `.ci/run` runs it with the other models.

    use super::*;
    use loom::thread;
    use std::sync::Arc;

    /// A task finds the one GPU held and waits while its holder gives it
    /// back: whatever the interleaving, the task either took the GPU or
    /// is handed back by the give-back, never left waiting, and then
    /// takes it.
    #[test]
    fn no_task_waiting_for_resources_is_stranded() {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        builder.check(|| {
            let gate: loom::sync::Arc<Gate<()>> =
                loom::sync::Arc::new(Gate::new(Resources::from([("gpu", 1)])));
            let gpu = Resources::from([("gpu", 1)]);
            let job = Arc::new(());
            assert!(gate.take(&gpu, Arc::downgrade(&job), 0, 0));
            let holder = {
                let (gate, gpu) = (gate.clone(), gpu.clone());
                thread::spawn(move || gate.give_back(&gpu))
            };
            let took = gate.take(&gpu, Arc::downgrade(&job), 7, 0);
            let handed_back = holder.join().unwrap();
            let sent_back = handed_back.iter().any(|(_, task)| *task == 7);
            assert!(took ^ sent_back, "took it, or handed back: exactly one");
            if sent_back {
                assert!(
                    gate.take(&gpu, Arc::downgrade(&job), 7, 0),
                    "and then it fits"
                );
            }
            assert!(gate.give_back(&gpu).is_empty());
            assert!(
                gate.take(&gpu, Arc::downgrade(&job), 8, 0),
                "the GPU is free again"
            );
        });
    }
}
