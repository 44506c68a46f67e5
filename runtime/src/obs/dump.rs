//! Task dumps: every live task with its id, spawn location, state and time since its
//! last poll.

use crate::task::Id;
use std::fmt;
use std::panic::Location;
use std::time::Duration;

/// What a task is doing, read from its state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting to be woken.
    Idle,
    /// Woken and queued, waiting for a worker.
    Scheduled,
    /// Being polled right now.
    Running,
    /// Finished; its output waits for its `JoinHandle`, or it is leaving the list.
    Complete,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Complete => "complete",
        })
    }
}

/// One live task in a [`Dump`].
#[derive(Debug, Clone)]
pub struct TaskDump {
    pub(crate) id: Id,
    pub(crate) location: &'static Location<'static>,
    pub(crate) name: Option<Box<str>>,
    pub(crate) state: TaskState,
    pub(crate) since_last_poll: Option<Duration>,
}

impl TaskDump {
    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Where the task was spawned.
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.location
    }

    /// The task's name, if it was spawned with one (`task::Builder::name`).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// What the task is doing.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// Time since its last poll started. Recorded in debug mode only (`None`
    /// otherwise, and for a task never polled).
    pub fn since_last_poll(&self) -> Option<Duration> {
        self.since_last_poll
    }
}

/// Every live task of a runtime (see [`Handle::dump`]), in no particular order.
///
/// [`Handle::dump`]: crate::runtime::Handle::dump
#[derive(Debug, Clone)]
pub struct Dump {
    pub(crate) tasks: Vec<TaskDump>,
}

impl Dump {
    /// The tasks.
    pub fn tasks(&self) -> &[TaskDump] {
        &self.tasks
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} live task(s)", self.tasks.len())?;
        for t in &self.tasks {
            write!(f, "  task {:>6}  {:<9}  {}", t.id, t.state, t.location)?;
            if let Some(name) = &t.name {
                write!(f, "  {name:?}")?;
            }
            match t.since_last_poll {
                Some(d) => writeln!(f, "  last polled {d:.1?} ago")?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}
