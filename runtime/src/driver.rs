//! Composition of the drivers: time over (for now) a condvar; the I/O driver slots in
//! below time when it lands. The scheduler parks on the top of the stack through
//! `magpie_base::park::Park` and never sees the layers.

use crate::runtime::DriverConfig;
use magpie_base::park::{CondvarPark, Park};
use std::io;

/// What the runtime threads enter so that the driver crates find their handles.
#[derive(Clone, Default)]
pub(crate) struct DriverHandle {
    pub(crate) time: Option<magpie_time::driver::Handle>,
}

pub(crate) struct DriverEnterGuard {
    _time: Option<magpie_time::driver::EnterGuard>,
}

impl DriverHandle {
    pub(crate) fn enter(&self) -> DriverEnterGuard {
        DriverEnterGuard {
            _time: self.time.as_ref().map(|t| t.enter()),
        }
    }
}

/// Builds the driver stack for `cfg`. `None` when no driver is enabled (workers then
/// park on their condvars).
pub(crate) fn build(cfg: &DriverConfig) -> io::Result<(Option<Box<dyn Park>>, DriverHandle)> {
    if !cfg.enable_time {
        return Ok((None, DriverHandle::default()));
    }
    let clock = magpie_time::Clock::new(cfg.start_paused);
    let (driver, handle) = magpie_time::driver::Driver::new(CondvarPark::new(), clock);
    Ok((Some(Box::new(driver)), DriverHandle { time: Some(handle) }))
}
