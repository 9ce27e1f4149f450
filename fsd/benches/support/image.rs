//! The benchmarks' ext4 image, made by mkfs.ext4 -d: a directory of
//! 1,000 small files (`many`) and a 1 MiB file (`big.bin`).
use std::path::{Path, PathBuf};
use std::process::Command;

/// Makes the image in `dir` (emptied first): its path.
pub fn make(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("tree/many")).unwrap();
    for i in 0..1000 {
        std::fs::write(dir.join(format!("tree/many/file-{i:04}.txt")), b"x").unwrap();
    }
    std::fs::write(dir.join("tree/big.bin"), vec![7u8; 1 << 20]).unwrap();
    let image = dir.join("bench.img");
    let status = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(dir.join("tree"))
        .arg(&image)
        .arg("64M")
        .status()
        .unwrap();
    assert!(status.success());
    image
}
