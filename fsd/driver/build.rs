//! The driver's build script. Compiles its one shim Rust cannot express, a
//! copy guarded by structured exception handling: `shim/copy_user.c`
//! (__try/__except) with MSVC, `shim/copy_user.S` (the same scope table
//! laid out by hand) with mingw, whose GCC has no __try. With the `wdk`
//! feature (the Windows build, `cargo make` in this directory with the
//! WDK installed) wdk-build also configures the link as a WDM driver.
fn main() {
    println!("cargo:rerun-if-changed=shim/copy_user.S");
    println!("cargo:rerun-if-changed=shim/copy_user.c");
    if std::env::var("CARGO_CFG_TARGET_OS").unwrap() != "windows" {
        return;
    }
    let shim = if std::env::var("CARGO_CFG_TARGET_ENV").unwrap() == "msvc" {
        "shim/copy_user.c"
    } else {
        "shim/copy_user.S"
    };
    cc::Build::new().file(shim).compile("lklfsd_shim");
    #[cfg(feature = "wdk")]
    wdk_build::configure_wdk_binary_build().expect("wdk-build: the WDK configuration");
}
