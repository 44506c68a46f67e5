#[magpie::test]
async fn takes(n: u32) {
    let _ = n;
}

fn main() {}
