//! The two schedulers and the handle that names either.

pub(crate) mod current_thread;
pub(crate) mod multi_thread;
pub(crate) mod park;

use crate::blocking;
use crate::task::{Id, JoinHandle};
use std::future::Future;
use std::sync::Arc;

#[derive(Clone)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Handle>),
    MultiThread(Arc<multi_thread::Handle>),
}

impl Handle {
    pub(crate) fn spawn<F>(&self, future: F, id: Id) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::CurrentThread(h) => h.spawn(future, id),
            Handle::MultiThread(h) => h.spawn(future, id),
        }
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
