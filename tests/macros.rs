//! `#[magpie::main]` and `#[magpie::test]` against the real runtime.

use magpie::runtime::{Handle, RuntimeFlavor};

#[magpie::test]
async fn test_defaults_to_current_thread() {
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::CurrentThread
    );
}

#[magpie::test(flavor = "multi_thread", worker_threads = 3)]
async fn test_multi_thread_with_workers() {
    let h = Handle::current();
    assert_eq!(h.runtime_flavor(), RuntimeFlavor::MultiThread);
    assert_eq!(h.num_workers(), 3);
}

#[magpie::test]
async fn test_returning_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "42".parse()?;
    assert_eq!(n, 42);
    Ok(())
}

#[magpie::main(flavor = "current_thread")]
async fn helper_main() -> u32 {
    magpie::spawn(async { 5 }).await.unwrap()
}

#[magpie::main(worker_threads = 2)]
async fn helper_main_mt() -> usize {
    Handle::current().num_workers()
}

#[test]
fn main_attribute_on_plain_fns() {
    assert_eq!(helper_main(), 5);
    assert_eq!(helper_main_mt(), 2);
}

#[test]
fn run_is_asyncio_run() {
    let v = magpie::run(async { magpie::spawn(async { 2 }).await.unwrap() * 21 });
    assert_eq!(v, 42);
}
