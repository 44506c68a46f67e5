#[magpie::main]
async fn run(n: u32) -> u32 {
    n
}

fn main() {}
