// `flavor = "local"`: a local runtime, where `spawn_local` takes `!Send` futures.

use std::rc::Rc;

#[magpie::main(flavor = "local")]
async fn main_local() -> usize {
    let shared = Rc::new(20);
    let s = shared.clone();
    let n = magpie::task::spawn_local(async move { *s + 1 }).await.unwrap();
    n * 2 + Rc::strong_count(&shared) - 1
}

#[magpie::test(flavor = "local")]
async fn a_local_test() {
    let rc = Rc::new(());
    magpie::task::spawn_local(async move { drop(rc) }).await.unwrap();
}

#[magpie::test(flavor = "local", start_paused = true)]
async fn a_paused_local_test() {}

fn main() {
    assert_eq!(main_local(), 42);
}
