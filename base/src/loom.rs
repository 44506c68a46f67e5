//! The loom shim.
//!
//! In a normal build this module re-exports `std`'s atomics and `Arc`, wraps
//! `parking_lot`'s `Mutex`/`Condvar`, and provides an `UnsafeCell` with loom's
//! closure-based API (`with`, `with_mut`). Under `--cfg loom` the same names come from
//! the `loom` crate, so every lock-free protocol in magpie can be model-checked without a
//! second copy of its code.

#[cfg(not(loom))]
pub use self::std_impl::*;

#[cfg(loom)]
pub use self::loom_impl::*;

#[cfg(not(loom))]
mod std_impl {
    /// Synchronisation primitives.
    pub mod sync {
        pub use std::sync::Arc;

        /// Atomic types and fences.
        pub mod atomic {
            pub use std::sync::atomic::{
                AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
            };
        }

        /// A mutex without poisoning (parking_lot's).
        #[derive(Debug, Default)]
        pub struct Mutex<T: ?Sized>(parking_lot::Mutex<T>);

        /// The guard of [`Mutex`].
        pub type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

        impl<T> Mutex<T> {
            /// Creates a mutex holding `value`.
            pub const fn new(value: T) -> Self {
                Mutex(parking_lot::Mutex::new(value))
            }

            /// Consumes the mutex, returning the value.
            pub fn into_inner(self) -> T {
                self.0.into_inner()
            }
        }

        impl<T: ?Sized> Mutex<T> {
            /// Locks the mutex, blocking the thread until it is available.
            #[inline]
            pub fn lock(&self) -> MutexGuard<'_, T> {
                self.0.lock()
            }

            /// Locks the mutex if it is free.
            #[inline]
            pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
                self.0.try_lock()
            }

            /// Mutable access without locking (the borrow proves exclusivity).
            pub fn get_mut(&mut self) -> &mut T {
                self.0.get_mut()
            }
        }

        /// A condition variable paired with [`Mutex`].
        #[derive(Debug, Default)]
        pub struct Condvar(parking_lot::Condvar);

        impl Condvar {
            /// Creates a condition variable.
            pub const fn new() -> Self {
                Condvar(parking_lot::Condvar::new())
            }

            /// Blocks until notified (spurious wake-ups are possible).
            pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
                self.0.wait(guard)
            }

            /// Blocks until notified or until `timeout` has passed. Returns true when
            /// it timed out.
            pub fn wait_timeout<T>(
                &self,
                guard: &mut MutexGuard<'_, T>,
                timeout: std::time::Duration,
            ) -> bool {
                self.0.wait_for(guard, timeout).timed_out()
            }

            /// Wakes one waiter.
            pub fn notify_one(&self) {
                self.0.notify_one();
            }

            /// Wakes every waiter.
            pub fn notify_all(&self) {
                self.0.notify_all();
            }
        }
    }

    /// `UnsafeCell` with loom's closure-based access API.
    pub mod cell {
        /// A cell whose accesses loom can track; here a thin `std::cell::UnsafeCell`.
        #[derive(Debug, Default)]
        #[repr(transparent)]
        pub struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

        impl<T> UnsafeCell<T> {
            /// Creates a cell holding `value`.
            pub const fn new(value: T) -> Self {
                UnsafeCell(std::cell::UnsafeCell::new(value))
            }

            /// Consumes the cell, returning the value.
            pub fn into_inner(self) -> T {
                self.0.into_inner()
            }
        }

        impl<T: ?Sized> UnsafeCell<T> {
            /// Runs `f` with a shared raw pointer to the contents.
            #[inline(always)]
            pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
                f(self.0.get())
            }

            /// Runs `f` with a mutable raw pointer to the contents.
            #[inline(always)]
            pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
                f(self.0.get())
            }
        }
    }

    /// Threads.
    pub mod thread {
        pub use std::thread::{
            Builder, JoinHandle, Thread, current, panicking, park, spawn, yield_now,
        };
    }

    /// Spin hints.
    pub mod hint {
        pub use std::hint::spin_loop;
    }

    /// Whether the code runs under the loom model checker (never, in this build).
    pub const IS_LOOM: bool = false;
}

#[cfg(loom)]
mod loom_impl {
    /// Synchronisation primitives (loom's).
    pub mod sync {
        pub use loom::sync::Arc;

        /// Atomic types and fences (loom's).
        pub mod atomic {
            pub use loom::sync::atomic::{
                AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
            };
        }

        /// A mutex without poisoning, over loom's.
        #[derive(Debug, Default)]
        pub struct Mutex<T>(loom::sync::Mutex<T>);

        /// The guard of [`Mutex`]; an `Option` so that `Condvar::wait` can move it.
        pub struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

        impl<T> Mutex<T> {
            /// Creates a mutex holding `value`.
            pub fn new(value: T) -> Self {
                Mutex(loom::sync::Mutex::new(value))
            }

            /// Consumes the mutex, returning the value.
            pub fn into_inner(self) -> T {
                self.0.into_inner().unwrap()
            }

            /// Locks the mutex.
            pub fn lock(&self) -> MutexGuard<'_, T> {
                MutexGuard(Some(self.0.lock().unwrap()))
            }

            /// Locks the mutex if it is free.
            pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
                self.0.try_lock().ok().map(|g| MutexGuard(Some(g)))
            }

            /// Mutable access without locking.
            pub fn get_mut(&mut self) -> &mut T {
                self.0.get_mut().unwrap()
            }
        }

        impl<T> std::ops::Deref for MutexGuard<'_, T> {
            type Target = T;
            fn deref(&self) -> &T {
                self.0.as_ref().unwrap()
            }
        }

        impl<T> std::ops::DerefMut for MutexGuard<'_, T> {
            fn deref_mut(&mut self) -> &mut T {
                self.0.as_mut().unwrap()
            }
        }

        /// A condition variable over loom's.
        #[derive(Debug, Default)]
        pub struct Condvar(loom::sync::Condvar);

        impl Condvar {
            /// Creates a condition variable.
            pub fn new() -> Self {
                Condvar(loom::sync::Condvar::new())
            }

            /// Blocks until notified.
            pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
                let g = guard.0.take().unwrap();
                guard.0 = Some(self.0.wait(g).unwrap());
            }

            /// Loom has no time: waits until notified (and never times out).
            pub fn wait_timeout<T>(
                &self,
                guard: &mut MutexGuard<'_, T>,
                _: std::time::Duration,
            ) -> bool {
                self.wait(guard);
                false
            }

            /// Wakes one waiter.
            pub fn notify_one(&self) {
                self.0.notify_one();
            }

            /// Wakes every waiter.
            pub fn notify_all(&self) {
                self.0.notify_all();
            }
        }
    }

    /// `UnsafeCell` (loom's, which checks accesses).
    pub mod cell {
        pub use loom::cell::UnsafeCell;
    }

    /// Threads (loom's).
    pub mod thread {
        pub use loom::thread::{Builder, JoinHandle, Thread, current, park, spawn, yield_now};
        pub use std::thread::panicking;
    }

    /// Spin hints (loom's, which yield to the model's scheduler).
    pub mod hint {
        pub use loom::hint::spin_loop;
    }

    /// Whether the code runs under the loom model checker.
    pub const IS_LOOM: bool = true;
}
