//! The two schedulers and the handle that names either.

pub(crate) mod current_thread;
pub(crate) mod multi_thread;
pub(crate) mod park;

use crate::blocking;
use crate::obs::{Dump, Observer, TaskDump, TaskState};
use crate::task::{Id, JoinHandle};
use std::future::Future;
use std::sync::Arc;

#[derive(Clone)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Handle>),
    MultiThread(Arc<multi_thread::Handle>),
}

impl Handle {
    pub(crate) fn spawn<F>(
        &self,
        future: F,
        id: Id,
        meta: crate::task::SpawnMeta,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::CurrentThread(h) => h.spawn(future, id, meta),
            Handle::MultiThread(h) => h.spawn(future, id, meta),
        }
    }

    pub(crate) fn observer(&self) -> &Observer {
        match self {
            Handle::CurrentThread(h) => &h.obs,
            Handle::MultiThread(h) => &h.obs,
        }
    }

    pub(crate) fn num_alive_tasks(&self) -> usize {
        match self {
            Handle::CurrentThread(h) => h.num_alive_tasks(),
            Handle::MultiThread(h) => h.num_alive_tasks(),
        }
    }

    pub(crate) fn global_queue_depth(&self) -> usize {
        match self {
            Handle::CurrentThread(h) => h.global_queue_depth(),
            Handle::MultiThread(h) => h.global_queue_depth(),
        }
    }

    pub(crate) fn worker_local_queue_depth(&self, i: usize) -> usize {
        match self {
            Handle::CurrentThread(h) => {
                h.obs
                    .worker(i)
                    .queue_depth
                    .load(std::sync::atomic::Ordering::Relaxed) as usize
            }
            Handle::MultiThread(h) => h.worker_local_queue_depth(i),
        }
    }

    /// Every live task of the runtime (each list shard walked under its lock).
    pub(crate) fn dump(&self) -> Dump {
        let mut tasks = match self {
            Handle::CurrentThread(h) => dump_list(h.owned()),
            Handle::MultiThread(h) => dump_list(&h.shared.owned),
        };
        tasks.sort_by_key(|t| t.id);
        Dump { tasks }
    }

    pub(crate) fn blocking_spawner(&self) -> &blocking::Spawner {
        match self {
            Handle::CurrentThread(h) => &h.blocking,
            Handle::MultiThread(h) => &h.blocking,
        }
    }

    pub(crate) fn driver_handle(&self) -> &crate::driver::DriverHandle {
        match self {
            Handle::CurrentThread(h) => &h.driver_handle,
            Handle::MultiThread(h) => &h.driver_handle,
        }
    }

    pub(crate) fn ptr_eq(&self, other: &Handle) -> bool {
        match (self, other) {
            (Handle::CurrentThread(a), Handle::CurrentThread(b)) => Arc::ptr_eq(a, b),
            (Handle::MultiThread(a), Handle::MultiThread(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

fn dump_list<S: crate::task::Schedule>(owned: &crate::task::list::OwnedTasks<S>) -> Vec<TaskDump> {
    let now = crate::obs::now_ns();
    let mut tasks = Vec::with_capacity(owned.len());
    owned.for_each(|h| {
        let s = h.state.load();
        let state = if s.is_complete() {
            TaskState::Complete
        } else if s.is_running() {
            TaskState::Running
        } else if s.is_notified() {
            TaskState::Scheduled
        } else {
            TaskState::Idle
        };
        let last = h
            .label
            .last_poll()
            .map_or(0, |l| l.load(std::sync::atomic::Ordering::Relaxed));
        tasks.push(TaskDump {
            id: h.id,
            location: h.label.location(),
            name: h.label.name().map(|n| n.as_str().into()),
            state,
            since_last_poll: (last != 0)
                .then(|| std::time::Duration::from_nanos(now.saturating_sub(last))),
        });
    });
    tasks
}
