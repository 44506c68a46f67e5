// `join!` awaits in place, so it only works inside `async` code; `gather!` gives the
// future instead.
fn main() {
    let (a, b) = magpie::join!(async { 1 }, async { 2 });
    assert_eq!(a + b, 3);
}
