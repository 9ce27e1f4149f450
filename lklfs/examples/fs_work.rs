//! The file system benchmark's lkl work as a program of its own, so that
//! `benches/fs.rs` can run it built for Windows under Wine: reads the 1 GiB
//! file and the 20,000 small files of the benchmark image, creates 10,000
//! files, and prints the three times in seconds.
//!
//! Usage: fs_work IMAGE
#[path = "../benches/common/mod.rs"]
mod common;

fn main() {
    let image = std::env::args_os()
        .nth(1)
        .expect("usage: fs_work IMAGE (the benchmark's ext4 image)");
    let [read_1g, tree_read, create_10k] = common::lkl_subject(std::path::Path::new(&image));
    println!("{read_1g} {tree_read} {create_10k}");
}
