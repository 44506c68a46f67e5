// Both attributes used correctly: compiles and runs, so every `fail_*` case next to
// this one fails for the mistake it names and for no other reason.

#[magpie::main(flavor = "current_thread")]
async fn parse_and_spawn() -> Result<u32, Box<dyn std::error::Error>> {
    let n: u32 = "7".parse()?;
    if n == 0 {
        return Err("zero".into());
    }
    Ok(magpie::spawn(async move { n * 6 }).await?)
}

#[magpie::main(worker_threads = 2)]
async fn workers() -> usize {
    magpie::runtime::Handle::current().num_workers()
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test() {}

#[magpie::test(start_paused = true)]
async fn a_paused_test() {}

fn main() {
    assert_eq!(parse_and_spawn().unwrap(), 42);
    assert_eq!(workers(), 2);
}
