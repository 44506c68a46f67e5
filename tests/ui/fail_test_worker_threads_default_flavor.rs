// Tests default to the current-thread runtime, which has no worker threads.
#[magpie::test(worker_threads = 2)]
async fn a_test() {}

fn main() {}
