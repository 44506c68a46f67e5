//! A blocking reader-writer lock for short critical sections (the `watch` value):
//! parking_lot's normally, loom's under `--cfg loom`. It extends the base loom shim,
//! which has no `RwLock`.

#[cfg(not(loom))]
pub(crate) use parking_lot::{
    RwLock, RwLockReadGuard as ReadGuard, RwLockWriteGuard as WriteGuard,
};

#[cfg(loom)]
mod imp {
    pub(crate) struct RwLock<T>(loom::sync::RwLock<T>);
    pub(crate) type ReadGuard<'a, T> = loom::sync::RwLockReadGuard<'a, T>;
    pub(crate) type WriteGuard<'a, T> = loom::sync::RwLockWriteGuard<'a, T>;

    impl<T> RwLock<T> {
        pub(crate) fn new(v: T) -> Self {
            RwLock(loom::sync::RwLock::new(v))
        }
        pub(crate) fn read(&self) -> ReadGuard<'_, T> {
            self.0.read().unwrap()
        }
        pub(crate) fn write(&self) -> WriteGuard<'_, T> {
            self.0.write().unwrap()
        }
    }

    impl<T> std::fmt::Debug for RwLock<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("RwLock")
        }
    }
}

#[cfg(loom)]
pub(crate) use imp::*;
