#[magpie::main]
struct Main;

fn main() {}
