// A local task may hold `!Send` values, but not borrows of the spawner's stack.

#[magpie::main(flavor = "local")]
async fn main() {
    let v = vec![1];
    magpie::task::spawn_local(async { v.len() });
}
