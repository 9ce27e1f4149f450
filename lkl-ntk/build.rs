//! NT kernel bindings: bindgen over mingw-w64's DDK headers (`src/nt.h`),
//! for Windows targets built on Linux (with the `wdk` feature, on Windows,
//! they come from wdk-sys instead). Only the types, functions and
//! constants the host and the driver use are kept.
use std::env;
use std::path::PathBuf;

const MINGW: &str = "/usr/x86_64-w64-mingw32/include";

fn main() {
    println!("cargo:rerun-if-changed=src/nt.h");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("nt.rs");
    if env::var("CARGO_CFG_TARGET_OS").unwrap() != "windows"
        || env::var_os("CARGO_FEATURE_WDK").is_some()
    {
        // Host builds (cargo check/clippy of the workspace) see no
        // bindings; the WDK build takes wdk-sys's.
        std::fs::write(&out, "").unwrap();
        return;
    }
    let bindings = bindgen::Builder::default()
        .header("src/nt.h")
        .clang_args([
            "--target=x86_64-w64-mingw32",
            "-nostdinc",
            &format!("-isystem{MINGW}/ddk"),
            &format!("-isystem{MINGW}"),
            &format!("-isystem{}", clang_include()),
        ])
        .use_core()
        .layout_tests(false)
        .derive_default(true)
        .generate_comments(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .allowlist_function("(Ke|Ex|Io|Mm|Ob|Ps|Zw|Rtl|Dbg|Kf|Se|Probe|vDbg|Cc|FsRtl).*")
        .allowlist_type("(_?IRP|_?IO_.*|_?DEVICE_OBJECT|_?DRIVER_OBJECT|_?FILE_OBJECT|_?VPB|_?MDL|_?K.*|_?FILE_.*|_?DISK_.*|_?GET_LENGTH_INFORMATION|_?MOUNTDEV_.*|_?UNICODE_STRING|_?OBJECT_ATTRIBUTES|_?LARGE_INTEGER|_?KEY_VALUE_.*|_?FSRTL_.*|_?SECTION_OBJECT_POINTERS|_?ERESOURCE|_?FAST_MUTEX|_?CC_FILE_SIZES|_?CACHE_MANAGER_CALLBACKS|OPLOCK|_?LIST_ENTRY|_?FAST_IO_DISPATCH)")
        .allowlist_var("(IRP_.*|IOCTL_.*|FSCTL_.*|FILE_.*|DO_.*|SL_.*|VPB_.*|METHOD_.*|STATUS_.*|OBJ_.*|SYNCHRONIZE|GENERIC_.*|KEY_.*|REG_.*|DPFLTR_.*|THREAD_ALL_ACCESS|IO_NO_INCREMENT|IO_DISK_INCREMENT|MDL_.*|FSRTL_.*)")
        .generate()
        .expect("bindgen over mingw-w64's DDK headers");
    bindings.write_to_file(&out).unwrap();
}

/// Clang's own headers (stddef.h, stdarg.h), which mingw's include.
fn clang_include() -> String {
    let base = PathBuf::from("/usr/lib/llvm-14/lib/clang");
    let version = std::fs::read_dir(&base)
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.path())
        .unwrap_or_else(|| base.join("14"));
    version.join("include").display().to_string()
}
