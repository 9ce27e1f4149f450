//! Assembles the driver's one shim Rust cannot express: a copy guarded by
//! structured exception handling (shim/copy_user.S), for Windows targets.
fn main() {
    println!("cargo:rerun-if-changed=shim/copy_user.S");
    if std::env::var("CARGO_CFG_TARGET_OS").unwrap() == "windows" {
        cc::Build::new()
            .file("shim/copy_user.S")
            .compile("lklfsd_shim");
    }
}
