//! The Windows CI's test disks (scripts/test-disks.sh): made from the
//! sample tree on GPT, MBR, whole-disk ext4 and btrfs, converted to VHDX
//! and back, and found clean with the tree's checksums intact; a file's
//! byte changed on one disk makes the check fail.
use std::path::Path;
use std::process::Command;

fn script(args: &[&str]) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/test-disks.sh"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn test_disks_are_made_converted_and_checked() {
    let dir = std::env::temp_dir().join(format!("lkl-ci-disks-{}", std::process::id()));
    let d = dir.display().to_string();
    let (made, out) = script(&["make", &d]);
    assert!(made, "{out}");
    for name in ["gpt", "mbr", "whole", "btrfs"] {
        let info = Command::new("qemu-img")
            .args(["info", &format!("{d}/{name}.vhdx")])
            .output()
            .unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.contains("file format: vhdx"), "{name}: {info}");
    }
    let (clean, out) = script(&["check", &d]);
    assert!(clean && out.contains("all clean"), "{out}");

    // One byte of known.bin on the whole-disk ext4, found with debugfs.
    let whole = format!("{d}/whole.img");
    let blocks = Command::new("debugfs")
        .args(["-R", "bmap /known.bin 1", &whole])
        .output()
        .unwrap();
    let block: u64 = String::from_utf8_lossy(&blocks.stdout)
        .trim()
        .parse()
        .unwrap();
    let header = Command::new("dumpe2fs")
        .args(["-h", &whole])
        .output()
        .unwrap();
    let header = String::from_utf8_lossy(&header.stdout).into_owned();
    let block_size: u64 = header
        .lines()
        .find_map(|l| l.strip_prefix("Block size:"))
        .expect("dumpe2fs's block size")
        .trim()
        .parse()
        .unwrap();
    let mut image = std::fs::read(&whole).unwrap();
    image[(block * block_size + 7) as usize] ^= 0xff;
    std::fs::write(&whole, image).unwrap();
    let status = Command::new("qemu-img")
        .args([
            "convert",
            "-f",
            "raw",
            "-O",
            "vhdx",
            &whole,
            &format!("{d}/whole.vhdx"),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let (clean, out) = script(&["check", &d]);
    assert!(!clean && out.contains("checksums differ"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
