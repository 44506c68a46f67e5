//! Generates the gRPC code of `proto/echo.proto` (protoc from the distribution's packages,
//! installed by `scripts/services`). No transport: the tests bring their own HTTP/2 over
//! magpie connections.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/echo.proto");
    tonic_prost_build::configure()
        .build_transport(false)
        .compile_protos(&["proto/echo.proto"], &["proto"])?;
    Ok(())
}
