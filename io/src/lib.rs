//! magpie-io: the shared mio reactor and networking types (filled by the io issue).
