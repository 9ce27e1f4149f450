//! The boundary keeps its values on the native build: the `abi_check`
//! example's checks (pool size, wall clock, a six-argument call and disk
//! requests above 4 GiB), run in this test's process.
#[path = "../examples/abi_check.rs"]
mod abi_check;

#[test]
fn values_cross_the_boundary_intact() {
    abi_check::main();
}
