//! Core pinning of worker threads (`Builder::pin_workers`, `worker_cores`).

use super::Observer;

/// Pins the current thread to `core` (Linux: `sched_setaffinity`). Elsewhere it does
/// nothing and says so.
pub(crate) fn pin_current_thread(core: usize, sink: &Observer) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it
        // (bounds checked against CPU_SETSIZE below), and sched_setaffinity(0, ..)
        // reads it for the calling thread.
        let res = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if core >= libc::CPU_SETSIZE as usize {
                -1
            } else {
                libc::CPU_SET(core, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
            }
        };
        if res != 0 {
            sink.report(&format!(
                "magpie: could not pin a worker thread to core {core}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    #[cfg(not(target_os = "linux"))]
    sink.report(&format!(
        "magpie: pin_workers is only supported on Linux; worker not pinned to core {core}"
    ));
}
