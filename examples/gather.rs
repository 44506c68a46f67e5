//! The classic asyncio tutorial program, in magpie:
//!
//! ```python
//! async def say_after(delay, what):
//!     await asyncio.sleep(delay)
//!     print(what)
//!
//! async def main():
//!     await asyncio.gather(say_after(2, "two"), say_after(1, "one"), say_after(3, "three"))
//! ```
//!
//! The three sleeps overlap: the run takes about 3 s, not 6.
//! Run with `cargo run --example gather`.

#[path = "common/args.rs"]
mod args;

use std::time::{Duration, Instant};

async fn say_after(delay: u64, what: &str) -> &str {
    magpie::time::sleep(Duration::from_secs(delay)).await;
    println!("{what}");
    what
}

#[magpie::main]
async fn main() {
    args::Args::parse("usage: gather").finish();
    let start = Instant::now();
    let words = magpie::gather!(
        say_after(2, "two"),
        say_after(1, "one"),
        say_after(3, "three"),
    )
    .await;
    println!("gathered {words:?} in {:.1?}", start.elapsed());
}
