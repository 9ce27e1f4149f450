//! What only test mode runs: the in-driver self-test (`selftest`), the
//! benchmark (`bench`) and test requests relayed as IRPs (`relay`).
pub mod bench;
pub mod relay;
pub mod selftest;
