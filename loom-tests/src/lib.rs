//! Model-checked tests live in `tests/`; run them with `RUSTFLAGS="--cfg loom" cargo test -p magpie-loom-tests --release`.
