//! A worker core's queues: picking the next task (global-queue fairness, the LIFO
//! slot, the local queue, a global batch, the deferred yields) and stealing from other
//! workers.

#[cfg(loom)]
use super::super::loom_queue::{Injector, Steal};
use super::{Core, MAX_LIFO_POLLS, Notified, Shared};
use crate::obs::{WorkerMetrics, bump};
#[cfg(not(loom))]
use crossbeam_deque::{Injector, Steal};

impl Core {
    /// Whether this worker has a task of its own to run.
    pub(super) fn has_tasks(&self) -> bool {
        self.lifo.is_some() || !self.run_queue.is_empty() || !self.deferred.is_empty()
    }

    pub(super) fn next_task(
        &mut self,
        shared: &Shared,
        global_interval: u32,
        m: &WorkerMetrics,
    ) -> Option<Notified> {
        if self.tick % global_interval == 0 {
            // Fairness: the global queue gets a turn even when local work never ends.
            if let Some(task) = steal_one(&shared.inject) {
                return Some(task);
            }
        }
        if let Some(task) = self.lifo.take() {
            if self.lifo_polls < MAX_LIFO_POLLS {
                self.lifo_polls += 1;
                bump(&m.lifo_hits, 1);
                return Some(task);
            }
            // A task re-woken over and over must not starve the local queue.
            self.run_queue.push(task);
        }
        self.lifo_polls = 0;
        if let Some(task) = self.run_queue.pop() {
            return Some(task);
        }
        if !shared.inject.is_empty() {
            loop {
                match shared.inject.steal_batch_and_pop(&self.run_queue) {
                    Steal::Success(task) => return Some(task),
                    Steal::Empty => break,
                    Steal::Retry => std::hint::spin_loop(),
                }
            }
        }
        // Everything else ran: the yielded tasks get their turn.
        let first = self.deferred.pop_front()?;
        self.move_deferred_to_run_queue();
        Some(first)
    }

    /// Moves the yielded tasks into the (stealable) run queue, behind what is queued.
    /// Returns how many moved.
    pub(super) fn move_deferred_to_run_queue(&mut self) -> usize {
        let n = self.deferred.len();
        for task in self.deferred.drain(..) {
            self.run_queue.push(task);
        }
        n
    }

    pub(super) fn steal_work(&mut self, shared: &Shared, m: &WorkerMetrics) -> Option<Notified> {
        if !self.is_searching {
            if !shared.idle.transition_worker_to_searching() {
                return None;
            }
            self.is_searching = true;
        }
        let n = shared.remotes.len();
        let start = self.next_rand() as usize % n;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            let before = self.run_queue.len();
            loop {
                match shared.remotes[victim]
                    .stealer
                    .steal_batch_and_pop(&self.run_queue)
                {
                    Steal::Success(task) => {
                        // The popped task plus what landed in our queue.
                        let stolen = 1 + self.run_queue.len().saturating_sub(before);
                        bump(&m.steals, stolen as u64);
                        bump(&m.steal_operations, 1);
                        return Some(task);
                    }
                    Steal::Empty => break,
                    Steal::Retry => std::hint::spin_loop(),
                }
            }
        }
        loop {
            match shared.inject.steal_batch_and_pop(&self.run_queue) {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }

    /// xorshift32: a cheap per-worker random victim choice.
    fn next_rand(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }
}

fn steal_one(inject: &Injector<Notified>) -> Option<Notified> {
    loop {
        match inject.steal() {
            Steal::Success(task) => return Some(task),
            Steal::Empty => return None,
            Steal::Retry => std::hint::spin_loop(),
        }
    }
}
