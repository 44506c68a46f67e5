// `pin!` shadows variables by name: pin a `let` binding, or use the `let` form.
async fn work() {}

fn main() {
    magpie::pin!(work());
}
