#[magpie::test(paused = true)]
async fn a_test() {}

fn main() {}
