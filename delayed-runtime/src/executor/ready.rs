//! The ready tasks of a compute waiting for a thread or a place in
//! flight, in the order they run: first come, first served, or by
//! priority when the graph has priorities, ties first come.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Ready tasks, by node index.
pub(crate) enum Ready {
    /// In the order they became ready: a graph without priorities.
    Fifo(VecDeque<u32>),
    /// Highest priority first, then first come; a task put back in front
    /// comes before its equals.
    Ranked {
        heap: BinaryHeap<(i32, Reverse<i64>, u32)>,
        /// The order of the next task to come last, and of the next one
        /// put back in front.
        back: i64,
        front: i64,
    },
}

impl Ready {
    /// An empty list: ranked when `ranked`.
    pub(crate) fn new(ranked: bool) -> Ready {
        match ranked {
            false => Ready::Fifo(VecDeque::new()),
            true => Ready::Ranked {
                heap: BinaryHeap::new(),
                back: 0,
                front: -1,
            },
        }
    }

    /// Adds a task that became ready, of priority `priority`.
    pub(crate) fn push(&mut self, task: u32, priority: i32) {
        match self {
            Ready::Fifo(queue) => queue.push_back(task),
            Ready::Ranked { heap, back, .. } => {
                heap.push((priority, Reverse(*back), task));
                *back += 1;
            }
        }
    }

    /// Puts back a task that was taken and could not run yet: it comes
    /// first among its equals.
    pub(crate) fn push_front(&mut self, task: u32, priority: i32) {
        match self {
            Ready::Fifo(queue) => queue.push_front(task),
            Ready::Ranked { heap, front, .. } => {
                heap.push((priority, Reverse(*front), task));
                *front -= 1;
            }
        }
    }

    /// Adds the tasks of `ready`, leaving it empty; `priority` gives each
    /// one's. The first tasks of a wide graph become the queue itself
    /// rather than a copy.
    pub(crate) fn extend(&mut self, ready: &mut Vec<u32>, priority: impl Fn(u32) -> i32) {
        match self {
            Ready::Fifo(queue) if queue.is_empty() && ready.len() > queue.capacity() => {
                *queue = VecDeque::from(std::mem::take(ready));
            }
            Ready::Fifo(queue) => queue.extend(ready.drain(..)),
            Ready::Ranked { .. } => {
                for task in ready.drain(..) {
                    self.push(task, priority(task));
                }
            }
        }
    }

    /// Takes the task to run next.
    pub(crate) fn pop(&mut self) -> Option<u32> {
        match self {
            Ready::Fifo(queue) => queue.pop_front(),
            Ready::Ranked { heap, .. } => heap.pop().map(|(_, _, task)| task),
        }
    }

    /// The priority of the task that would run next, if any is ranked.
    pub(crate) fn top_priority(&self) -> Option<i32> {
        match self {
            Ready::Fifo(_) => None,
            Ready::Ranked { heap, .. } => heap.peek().map(|&(priority, ..)| priority),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Ready::Fifo(queue) => queue.is_empty(),
            Ready::Ranked { heap, .. } => heap.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(ready: &mut Ready) -> Vec<u32> {
        std::iter::from_fn(|| ready.pop()).collect()
    }

    #[test]
    fn without_priorities_first_come_first_served() {
        let mut ready = Ready::new(false);
        ready.extend(&mut vec![3, 1, 2], |_| 0);
        ready.push_front(9, 0);
        assert_eq!(drain(&mut ready), [9, 3, 1, 2]);
    }

    #[test]
    fn higher_priority_first_and_ties_keep_their_order() {
        let priority = |task: u32| [0, 5, 0, -1, 5][task as usize];
        let mut ready = Ready::new(true);
        ready.extend(&mut vec![0, 1, 2, 3, 4], priority);
        assert_eq!(ready.top_priority(), Some(5));
        assert_eq!(ready.pop(), Some(1));
        ready.push_front(1, 5);
        ready.push(2, 0);
        assert_eq!(drain(&mut ready), [1, 4, 0, 2, 2, 3]);
    }
}
