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
    message_table();
    #[cfg(feature = "wdk")]
    wdk_build::configure_wdk_binary_build().expect("wdk-build: the WDK configuration");
}

/// The WDK build's event log messages: mc and rc (from the WDK) make a
/// resource of `messages/events.mc`, linked into the .sys. (The Linux
/// build does the same with windmc and windres in scripts/driver.sh.)
#[cfg(feature = "wdk")]
fn message_table() {
    use std::process::Command;
    println!("cargo:rerun-if-changed=messages/events.mc");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let run = |program: &str, args: &[&std::ffi::OsStr]| {
        let status = Command::new(program).args(args).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "{program} (from the WDK) failed"
        );
    };
    run(
        "mc",
        &[
            "-h".as_ref(),
            out.as_os_str(),
            "-r".as_ref(),
            out.as_os_str(),
            "messages/events.mc".as_ref(),
        ],
    );
    let res = out.join("events.res");
    run(
        "rc",
        &[
            "/fo".as_ref(),
            res.as_os_str(),
            out.join("events.rc").as_os_str(),
        ],
    );
    println!("cargo:rustc-link-arg={}", res.display());
}
