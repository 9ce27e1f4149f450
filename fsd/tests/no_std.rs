//! The core builds for 64-bit Windows with `core` and `alloc` alone, as
//! the kernel-mode driver that links it must (no `std` there).
#[path = "../../tests/support/wine.rs"]
mod wine;

#[test]
fn builds_for_windows_with_core_and_alloc_alone() {
    let out = wine::build_windows_with(&["-p", "fsd", "--lib"], &[("LKL_BUILD_STD", "core,alloc")]);
    let lib = out.join("libfsd.rlib");
    assert!(lib.exists(), "{} missing", lib.display());
}
