//! Composition of the drivers: time over the I/O stack (`magpie_io::stack`: process over
//! signal over the mio reactor). The scheduler parks on the top of the
//! stack through `magpie_base::park::Park` and never sees the layers.
//!
//! ```text
//!   enable_time + enable_io : time::Driver<io::Driver>   (epoll with the next deadline)
//!   enable_time only        : time::Driver<CondvarPark>
//!   enable_io only          : io::Driver
//!   neither                 : no driver (workers park on their condvars)
//! ```

use crate::runtime::DriverConfig;
use magpie_base::park::{CondvarPark, Park};
use std::io;

/// What the runtime threads enter so that the driver crates find their handles.
#[derive(Clone, Default)]
pub(crate) struct DriverHandle {
    pub(crate) time: Option<magpie_time::driver::Handle>,
    pub(crate) io: Option<magpie_io::driver::Handle>,
}

pub(crate) struct DriverEnterGuard {
    _time: Option<magpie_time::driver::EnterGuard>,
    _io: Option<magpie_io::driver::EnterGuard>,
}

impl DriverHandle {
    pub(crate) fn enter(&self) -> DriverEnterGuard {
        DriverEnterGuard {
            _time: self.time.as_ref().map(|t| t.enter()),
            _io: self.io.as_ref().map(|h| h.enter()),
        }
    }
}

/// Builds the driver stack for `cfg`, with one timer-wheel shard per worker (`workers`
/// rounded up to a power of two). Errors (EMFILE creating the epoll instance) come back
/// to `Builder::build`.
pub(crate) fn build(
    cfg: &DriverConfig,
    workers: usize,
) -> io::Result<(Option<Box<dyn Park>>, DriverHandle)> {
    let mut handle = DriverHandle::default();
    let lower: Option<Box<dyn Park>> = if cfg.enable_io {
        let (driver, h) = magpie_io::stack::new()?;
        handle.io = Some(h);
        Some(Box::new(driver))
    } else {
        None
    };
    if !cfg.enable_time {
        return Ok((lower, handle));
    }
    let lower = lower.unwrap_or_else(|| Box::new(CondvarPark::new()));
    let clock = magpie_time::Clock::new(cfg.start_paused);
    let (driver, time) = magpie_time::driver::Driver::with_shards(
        lower,
        clock,
        workers,
        crate::context::worker_index,
    );
    handle.time = Some(time);
    Ok((Some(Box::new(driver)), handle))
}
