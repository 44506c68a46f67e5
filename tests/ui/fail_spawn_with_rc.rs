// `spawn` needs a `Send` future even on a local runtime: `!Send` ones go through
// `spawn_local`.

use std::rc::Rc;

#[magpie::main(flavor = "local")]
async fn main() {
    let rc = Rc::new(1);
    magpie::spawn(async move { drop(rc) });
}
