//! Queues by priority: [`Ready`], the ready tasks of a compute waiting for
//! a thread or a place in flight (first come, first served, or by
//! priority when the graph has priorities); and [`Ranked`], the queue by
//! priority it shares with the tasks waiting for resources (`gate.rs`)
//! and for a place on a broker (`distributed/remote.rs`).

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

/// Items by priority, highest first; among equals first come first (or,
/// made with [`newest_first`](Self::newest_first), last come first); an
/// item put back in front comes before its equals.
pub(crate) struct Ranked<T> {
    heap: BinaryHeap<Entry<T>>,
    /// How many items came: the order of the next one.
    arrivals: i64,
    /// How many were put back in front.
    put_back: i64,
    newest_first: bool,
}

struct Entry<T> {
    priority: i32,
    /// Lower first among equal priorities.
    order: i64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Entry<T>) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Entry<T>) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Entry<T>) -> Ordering {
        (self.priority, Reverse(self.order)).cmp(&(other.priority, Reverse(other.order)))
    }
}

impl<T> Default for Ranked<T> {
    fn default() -> Ranked<T> {
        Ranked {
            heap: BinaryHeap::new(),
            arrivals: 0,
            put_back: 0,
            newest_first: false,
        }
    }
}

impl<T> Ranked<T> {
    /// A queue where, among equal priorities, the newest comes first.
    #[cfg_attr(not(feature = "distributed"), allow(dead_code))] // the broker's window
    pub(crate) fn newest_first() -> Ranked<T> {
        Ranked {
            newest_first: true,
            ..Ranked::default()
        }
    }

    /// Adds `item` of `priority`: after its equals (before them, newest
    /// first).
    pub(crate) fn push(&mut self, item: T, priority: i32) {
        self.arrivals += 1;
        let order = match self.newest_first {
            true => -self.arrivals,
            false => self.arrivals,
        };
        self.heap.push(Entry {
            priority,
            order,
            item,
        });
    }

    /// Puts back an item that was taken and could not go on yet: it comes
    /// first among its equals.
    pub(crate) fn push_front(&mut self, item: T, priority: i32) {
        self.put_back += 1;
        self.heap.push(Entry {
            priority,
            // Below any order an arrival takes.
            order: i64::MIN / 2 - self.put_back,
            item,
        });
    }

    /// Takes the first item.
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|entry| entry.item)
    }

    /// The priority of the first item.
    pub(crate) fn top_priority(&self) -> Option<i32> {
        self.heap.peek().map(|entry| entry.priority)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Takes, in order, the items `take` chooses, and drops those it says
    /// are gone (`None`); the others keep their places.
    pub(crate) fn take_some(&mut self, mut take: impl FnMut(&T) -> Option<bool>) -> Vec<T> {
        let mut entries = std::mem::take(&mut self.heap).into_sorted_vec();
        // Ascending: the first item is last.
        entries.reverse();
        let mut taken = Vec::new();
        let mut kept = Vec::with_capacity(entries.len());
        for entry in entries {
            match take(&entry.item) {
                Some(true) => taken.push(entry.item),
                Some(false) => kept.push(entry),
                None => {}
            }
        }
        self.heap = kept.into();
        taken
    }
}

/// Ready tasks, by node index.
pub(crate) enum Ready {
    /// In the order they became ready: a graph without priorities.
    Fifo(VecDeque<u32>),
    /// Highest priority first, then first come.
    Ranked(Ranked<u32>),
}

impl Ready {
    /// An empty list: ranked when `ranked`.
    pub(crate) fn new(ranked: bool) -> Ready {
        match ranked {
            false => Ready::Fifo(VecDeque::new()),
            true => Ready::Ranked(Ranked::default()),
        }
    }

    /// Adds a task that became ready, of priority `priority`.
    pub(crate) fn push(&mut self, task: u32, priority: i32) {
        match self {
            Ready::Fifo(queue) => queue.push_back(task),
            Ready::Ranked(ranked) => ranked.push(task, priority),
        }
    }

    /// Puts back a task that was taken and could not run yet: it comes
    /// first among its equals.
    pub(crate) fn push_front(&mut self, task: u32, priority: i32) {
        match self {
            Ready::Fifo(queue) => queue.push_front(task),
            Ready::Ranked(ranked) => ranked.push_front(task, priority),
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
            Ready::Ranked(ranked) => {
                for task in ready.drain(..) {
                    ranked.push(task, priority(task));
                }
            }
        }
    }

    /// Takes the task to run next.
    pub(crate) fn pop(&mut self) -> Option<u32> {
        match self {
            Ready::Fifo(queue) => queue.pop_front(),
            Ready::Ranked(ranked) => ranked.pop(),
        }
    }

    /// The priority of the task that would run next, if any is ranked.
    pub(crate) fn top_priority(&self) -> Option<i32> {
        match self {
            Ready::Fifo(_) => None,
            Ready::Ranked(ranked) => ranked.top_priority(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Ready::Fifo(queue) => queue.is_empty(),
            Ready::Ranked(ranked) => ranked.is_empty(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Ready::Fifo(queue) => queue.len(),
            Ready::Ranked(ranked) => ranked.heap.len(),
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
        ready.push_front(9, 5);
        ready.push(2, 0);
        // Put back last, first; then the one put back before; then 4.
        assert_eq!(drain(&mut ready), [9, 1, 4, 0, 2, 2, 3]);
    }

    #[test]
    fn newest_first_among_equals_and_some_taken_in_order() {
        let mut ranked = Ranked::newest_first();
        for (item, priority) in [("a", 0), ("b", 1), ("c", 0), ("d", 1), ("gone", 9)] {
            ranked.push(item, priority);
        }
        let taken = ranked.take_some(|&item| match item {
            "gone" => None,
            item => Some(item != "b"),
        });
        assert_eq!(taken, ["d", "c", "a"]);
        assert_eq!(ranked.pop(), Some("b"));
        assert!(ranked.is_empty());
    }
}
