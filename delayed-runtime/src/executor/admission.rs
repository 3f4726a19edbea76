//! Memory-aware admission of root tasks: async tasks that need nothing
//! computed, whose values synchronous tasks consume (a reduction over
//! downloads, a map over files read).
//!
//! Started as soon as they are ready, up to `max_async_tasks` of them
//! would be in flight at once, and they finish faster than the CPU
//! slots consume their values: every value waits in memory, and a
//! reduction that needs a few values at a time holds a thousand (Dask's
//! root task overproduction, distributed#6360). Holding them all back to
//! the slots' pace would cost a fan of small downloads its concurrency.
//! So the values' size decides, measured rather than guessed:
//!
//! 1. **Probe.** When a compute has more such roots than `2 × slots`, the
//!    first `2 × slots` are admitted, and the rest wait.
//! 2. When the probe's roots are done, the growth of the process's
//!    resident memory since the compute started says what a root's value
//!    costs. If `max_async_tasks` roots in flight would hold at most
//!    [`FRONTIER_BUDGET`], admission **opens**: every root runs as soon as
//!    a place in flight is free, as without admission.
//! 3. Otherwise the roots are **held to the slots' pace**: one is admitted
//!    while the roots in flight and the synchronous tasks queued number
//!    fewer than `2 × slots`, so that each value made is consumed soon
//!    after. One is always admitted when none is in flight, so the
//!    compute always goes on.
//!
//! Roots whose consumers take many inputs (a task that gathers them all)
//! are not held: their values wait for each other anyway, and holding
//! them back would only slow the gathering. Neither are tasks that run on
//! workers, whose values stay there, nor tasks that need resources, which
//! their resources pace.

use super::Run;
use super::ready::Ready;

/// What the values of the roots in flight may hold, at most, for
/// admission to stay open: 256 MiB, so that at the default 1,024 in
/// flight a value of up to 256 KiB is small. (The probe's growth also
/// counts what the compute's first tasks cost the process besides their
/// values, such as a thread's first allocations: a few hundred KiB,
/// which this leaves room for.)
pub(crate) const FRONTIER_BUDGET: u64 = 256 << 20;

/// The admission of one compute's root tasks.
pub(crate) struct Admission {
    /// `2 × slots`: how many roots the probe admits, and then the bound on
    /// roots in flight and synchronous tasks queued.
    width: usize,
    /// The bound on async tasks in flight, which an open admission fills.
    max_async: usize,
    /// The process's resident memory when the compute started.
    resident_at_start: u64,
    state: State,
    /// Roots admitted and not yet done.
    in_flight: usize,
    /// Roots admitted by the probe and done.
    probed: usize,
    /// Roots waiting to be admitted.
    held: Ready,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Probing,
    Open,
    Paced,
}

impl Admission {
    /// Admission for a compute whose tasks `ready` are ready at its start,
    /// on `slots` CPU slots; `None` when it has no more roots than
    /// `2 × slots`, or where the kernel does not say how much memory the
    /// process holds.
    pub(crate) fn new(
        run: &Run,
        ready: &[u32],
        slots: usize,
        max_async: usize,
    ) -> Option<Admission> {
        let width = 2 * slots.max(1);
        if max_async <= width {
            return None;
        }
        let roots = ready.iter().filter(|&&i| is_root(run, i, width)).count();
        if roots <= width {
            return None;
        }
        Some(Admission {
            width,
            max_async,
            resident_at_start: resident_bytes()?,
            state: State::Probing,
            in_flight: 0,
            probed: 0,
            held: Ready::new(run.graph.has_priorities()),
        })
    }

    /// Whether task `i` is a root this admission paces.
    pub(crate) fn paces(&self, run: &Run, i: u32) -> bool {
        is_root(run, i, self.width)
    }

    /// Whether root `i` starts now, with `queued` synchronous tasks
    /// waiting for a slot; if not, it waits here.
    pub(crate) fn admit(&mut self, i: u32, priority: i32, queued: usize) -> bool {
        let admitted = match self.state {
            State::Open => true,
            State::Probing => self.in_flight + self.probed < self.width,
            State::Paced => self.in_flight == 0 || self.in_flight + queued < self.width,
        };
        if admitted {
            self.in_flight += 1;
        } else {
            self.held.push(i, priority);
        }
        admitted
    }

    /// Root `i` is done, with `queued` synchronous tasks waiting for a
    /// slot: the roots to start now.
    pub(crate) fn done(&mut self, queued: usize) -> Vec<u32> {
        self.in_flight -= 1;
        if self.state == State::Probing {
            self.probed += 1;
            if self.probed < self.width {
                return Vec::new();
            }
            self.state = self.verdict(resident_bytes().unwrap_or(self.resident_at_start));
        }
        let mut start = Vec::new();
        while self.state == State::Open
            || self.in_flight == 0
            || self.in_flight + queued < self.width
        {
            let Some(next) = self.held.pop() else { break };
            start.push(next);
            self.in_flight += 1;
        }
        start
    }

    /// Whether the probe found the roots' values small: from now on
    /// every root starts as soon as it has a place in flight, so the
    /// admission has nothing left to decide once its held roots start.
    pub(crate) fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// What the probe's growth of resident memory, `resident` now, says.
    fn verdict(&self, resident: u64) -> State {
        let grown = resident.saturating_sub(self.resident_at_start);
        // What `max_async` roots in flight would hold at the same rate.
        let at_most_in_flight = grown.saturating_mul(self.max_async as u64) / self.width as u64;
        if at_most_in_flight <= FRONTIER_BUDGET {
            State::Open
        } else {
            State::Paced
        }
    }
}

/// Whether task `i` is a root admission paces: an async task here (not on
/// a worker) that needs no computed value, whose value synchronous tasks
/// consume, none of them taking more than `width` inputs. One that needs
/// resources is paced by them instead (and, waiting for them, would come
/// back to be admitted twice).
fn is_root(run: &Run, i: u32, width: usize) -> bool {
    let graph = &run.graph;
    if graph.is_value(i) || graph.is_sync(i) || run.offloads(i) || run.resources_here(i).is_some() {
        return false;
    }
    let dependents = graph.dependents(i);
    !dependents.is_empty()
        && graph.deps(i).iter().all(|&dep| graph.is_value(dep))
        && dependents
            .iter()
            .all(|&d| run.is_sync(d) && graph.deps(d).len() <= width)
}

/// The process's resident memory, from `/proc/self/status`; `None` where
/// there is no such file (not Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(state: State) -> Admission {
        Admission {
            width: 4,
            max_async: 1024,
            resident_at_start: 100 << 20,
            state,
            in_flight: 0,
            probed: 0,
            held: Ready::new(false),
        }
    }

    #[test]
    fn the_probe_admits_twice_the_slots_then_the_growth_decides() {
        let mut probe = admission(State::Probing);
        let admitted: Vec<bool> = (0..10).map(|i| probe.admit(i, 0, 0)).collect();
        assert_eq!(admitted.iter().filter(|&&a| a).count(), 4);
        // 1 MiB a root: 1,024 in flight would hold 1 GiB.
        assert_eq!(probe.verdict((100 << 20) + (4 << 20)), State::Paced);
        // 64 KiB a root: 64 MiB.
        assert_eq!(probe.verdict((100 << 20) + (256 << 10)), State::Open);
        // Memory given back meanwhile is no growth.
        assert_eq!(probe.verdict(50 << 20), State::Open);
    }

    #[test]
    fn paced_roots_start_while_roots_in_flight_and_queued_tasks_are_few() {
        let mut paced = admission(State::Paced);
        assert!(paced.admit(0, 0, 10), "none in flight: one starts");
        for i in 1..=6 {
            assert!(!paced.admit(i, 0, 10), "the slots have work queued");
        }
        // With 2 tasks queued, 2 roots may be in flight.
        assert_eq!(paced.done(2), vec![1, 2]);
        // With none queued, 4.
        assert_eq!(paced.done(0), vec![3, 4, 5]);
        assert_eq!(paced.in_flight, 4);
    }

    #[test]
    fn an_open_admission_starts_every_held_root() {
        let mut open = admission(State::Paced);
        for i in 0..10 {
            open.admit(i, 0, 100);
        }
        open.state = State::Open;
        assert_eq!(open.done(100).len(), 9);
        assert!(open.is_open());
    }

    #[test]
    fn one_root_always_starts_when_none_is_in_flight() {
        let mut paced = admission(State::Paced);
        for i in 0..3 {
            paced.admit(i, 0, 1_000);
        }
        assert_eq!(paced.in_flight, 1);
        assert_eq!(paced.done(1_000), vec![1]);
        assert_eq!(paced.done(1_000), vec![2]);
        assert!(paced.done(1_000).is_empty());
    }
}
