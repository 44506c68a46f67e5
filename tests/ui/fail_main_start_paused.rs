// `start_paused` is an argument of `#[magpie::test]` only.
#[magpie::main(flavor = "current_thread", start_paused = true)]
async fn main() {}
