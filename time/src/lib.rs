//! magpie-time: timer wheel, sleep, timeout and interval (filled by the time issue).
