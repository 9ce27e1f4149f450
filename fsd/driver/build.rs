//! The driver's build script. Compiles its shim of what Rust cannot
//! express, structured exception handling (a guarded copy of user
//! buffers, a guarded call for the cache manager's routines):
//! `shim/seh.c` (__try/__except) with MSVC, `shim/seh.S` (the same scope
//! tables laid out by hand) with mingw, whose GCC has no __try. With the `wdk`
//! feature (the Windows build, `cargo make` in this directory with the
//! WDK installed) wdk-build also configures the link as a WDM driver.
fn main() {
    println!("cargo:rerun-if-changed=shim/seh.S");
    println!("cargo:rerun-if-changed=shim/seh.c");
    if std::env::var("CARGO_CFG_TARGET_OS").unwrap() != "windows" {
        return;
    }
    let shim = if std::env::var("CARGO_CFG_TARGET_ENV").unwrap() == "msvc" {
        "shim/seh.c"
    } else {
        "shim/seh.S"
    };
    cc::Build::new().file(shim).compile("lklfsd_shim");
    #[cfg(feature = "wdk")]
    wdk_build::configure_wdk_binary_build().expect("wdk-build: the WDK configuration");
}
