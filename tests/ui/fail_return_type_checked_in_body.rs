// The body is checked against the declared return type: the error is reported at the
// user's own fn body (its closing brace), not inside the generated `block_on` call.
#[magpie::main]
async fn main() {
    return 5;
}
