//! `Interest`: which directions a `ready()` call waits for.

use crate::scheduled_io::{Direction, Ready};

/// The readiness a [`ready`](crate::net::TcpStream::ready) call waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Wait until readable (or read-closed).
    pub const READABLE: Interest = Interest(1);
    /// Wait until writable (or write-closed).
    pub const WRITABLE: Interest = Interest(2);

    /// Whether reads are of interest.
    pub const fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether writes are of interest.
    pub const fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }

    /// Both interests.
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// The readiness bits that satisfy this interest.
    pub(crate) fn mask(self) -> Ready {
        self.directions()
            .fold(Ready::EMPTY, |acc, dir| acc | dir.mask())
    }

    pub(crate) fn directions(self) -> impl Iterator<Item = Direction> {
        [
            self.is_readable().then_some(Direction::Read),
            self.is_writable().then_some(Direction::Write),
        ]
        .into_iter()
        .flatten()
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        self.add(rhs)
    }
}

impl From<Direction> for Interest {
    fn from(dir: Direction) -> Interest {
        match dir {
            Direction::Read => Interest::READABLE,
            Direction::Write => Interest::WRITABLE,
        }
    }
}
