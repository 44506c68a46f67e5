#[magpie::test(flavor = "multi_thread", start_paused = true)]
async fn a_test() {}

fn main() {}
