// Every branch of `try_join!` must have the same error type.
async fn run() {
    let _ = magpie::try_join!(
        async { Ok::<u8, std::io::Error>(1) },
        async { Ok::<u8, std::fmt::Error>(2) },
    );
}

fn main() {
    let _ = run();
}
