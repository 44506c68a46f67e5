#[magpie::test]
struct NotATest;

fn main() {}
