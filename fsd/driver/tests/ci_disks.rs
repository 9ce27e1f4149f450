//! The Windows CI's test disks (scripts/test-disks.sh): made from the
//! sample tree on GPT, MBR, whole-disk ext4 and btrfs, converted to VHDX
//! and back, and found clean with the tree's checksums intact; what the
//! Windows CI writes is checked when it is there (a wrong note fails);
//! a file's byte changed on one disk makes the check fail.
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
    // The removal scenarios' disks: scratch an ordinary VHDX; 4kn one of
    // 4 KiB logical sectors, which qemu, supporting 512 only, refuses to
    // open (what says the script's setting of its metadata landed), over
    // ext4 with 4 KiB blocks.
    let info = |name: &str| {
        let out = Command::new("qemu-img")
            .args(["info", &format!("{d}/scenarios/{name}.vhdx")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    assert!(
        info("scratch").contains("file format: vhdx"),
        "{}",
        info("scratch")
    );
    assert!(
        info("4kn").contains("Operation not supported"),
        "{}",
        info("4kn")
    );
    let header = Command::new("dumpe2fs")
        .args(["-h", &format!("{d}/scenarios/4kn.img")])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&header.stdout).contains("Block size:               4096"));
    // The UUIDs the Windows job opts in to writing are the disks' own.
    let uuids = std::fs::read_to_string(format!("{d}/uuids.txt")).unwrap();
    for name in ["whole", "btrfs", "scenarios/scratch", "scenarios/4kn"] {
        let blkid = Command::new("blkid")
            .args(["-s", "UUID", "-o", "value", &format!("{d}/{name}.img")])
            .output()
            .unwrap();
        let uuid = String::from_utf8_lossy(&blkid.stdout).trim().to_string();
        assert!(
            !uuid.is_empty() && uuids.lines().any(|l| l == uuid),
            "{name}: {uuid} not in {uuids}"
        );
    }
    // The file the Windows job's permission check reads: uid 1500's, 0600.
    let stat = Command::new("debugfs")
        .args(["-R", "stat /private.txt", &format!("{d}/whole.img")])
        .output()
        .unwrap();
    let stat = String::from_utf8_lossy(&stat.stdout);
    assert!(
        stat.contains("User:  1500") && stat.contains("Mode:  0600"),
        "{stat}"
    );
    let (clean, out) = script(&["check", &d]);
    assert!(clean && out.contains("all clean"), "{out}");
    assert!(!out.contains("what Windows wrote"), "{out}");

    // What the Windows CI writes (robocopy's copy of the tree, the
    // suite's note), put there by debugfs: checked; then a wrong note.
    let whole = format!("{d}/whole.img");
    for note in ["final text", "draft"] {
        windows_writes(&dir, &whole, note, note == "final text");
        to_vhdx(&whole, &format!("{d}/whole.vhdx"));
        let (clean, out) = script(&["check", &d]);
        if note == "final text" {
            assert!(
                clean && out.contains("whole:0 holds what Windows wrote"),
                "{out}"
            );
        } else {
            assert!(!clean && out.contains("the suite's note.txt"), "{out}");
        }
    }

    // One byte of known.bin on the whole-disk ext4, found with debugfs.
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

fn to_vhdx(raw: &str, vhdx: &str) {
    let status = Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "vhdx", raw, vhdx])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Writes into the ext4 image `image` what the Windows CI leaves: the
/// sample tree under /ci/robocopy, and /ci/run-editor_saves/note.txt
/// holding `note` (debugfs commands, run from `dir`); the tree only if
/// `with_tree` (debugfs makes a second directory of a name that exists).
fn windows_writes(dir: &Path, image: &str, note: &str, with_tree: bool) {
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample-tree");
    let note_file = dir.join("note.txt");
    std::fs::write(&note_file, note).unwrap();
    let mut commands = vec![
        "rm /ci/run-editor_saves/note.txt".to_string(),
        format!(
            "write {} /ci/run-editor_saves/note.txt",
            note_file.display()
        ),
    ];
    if with_tree {
        commands.splice(
            0..0,
            [
                "mkdir /ci",
                "mkdir /ci/robocopy",
                "mkdir /ci/run-editor_saves",
            ]
            .map(String::from),
        );
    }
    let mut dirs = if with_tree {
        vec![tree.clone()]
    } else {
        vec![]
    };
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let inside = path.strip_prefix(&tree).unwrap().display().to_string();
            if path.is_dir() {
                commands.push(format!("mkdir /ci/robocopy/{inside}"));
                dirs.push(path);
            } else {
                commands.push(format!("write {} /ci/robocopy/{inside}", path.display()));
            }
        }
    }
    let script = dir.join("debugfs.cmd");
    std::fs::write(&script, commands.join("\n") + "\n").unwrap();
    let out = Command::new("debugfs")
        .args(["-w", "-f", &script.display().to_string(), image])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The event log's message numbers in the driver (`src/event_log.rs`) are
/// the ones windmc gives `messages/events.mc`, which is built into the .sys.
#[test]
fn event_numbers_match_the_message_table() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("lkl-events-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let status = Command::new("x86_64-w64-mingw32-windmc")
        .arg("-h")
        .arg(&out)
        .arg("-r")
        .arg(&out)
        .arg(crate_dir.join("messages/events.mc"))
        .status()
        .unwrap();
    assert!(status.success());
    let header = std::fs::read_to_string(out.join("events.h")).unwrap();
    let source = std::fs::read_to_string(crate_dir.join("src/event_log.rs")).unwrap();
    let mut seen = 0;
    for (symbol, ours) in [
        ("LKLFSD_JOURNAL_REPLAYED", "JOURNAL_REPLAYED"),
        ("LKLFSD_MOUNTED_READ_ONLY", "MOUNTED_READ_ONLY"),
        ("LKLFSD_WRITES_LOST", "WRITES_LOST"),
    ] {
        let mc = header
            .lines()
            .find_map(|l| l.strip_prefix(&format!("#define {symbol} (NTSTATUS) 0x")))
            .map(|hex| u32::from_str_radix(hex.trim(), 16).unwrap())
            .unwrap_or_else(|| panic!("{symbol} in {header}"));
        let rust = source
            .lines()
            .find_map(|l| l.strip_prefix(&format!("pub const {ours}: u32 = 0x")))
            .map(|hex| {
                u32::from_str_radix(&hex.trim_end_matches(';').replace('_', ""), 16).unwrap()
            })
            .unwrap_or_else(|| panic!("{ours} in event_log.rs"));
        assert_eq!(mc, rust, "{symbol}");
        seen += 1;
    }
    assert_eq!(seen, 3);
    let _ = std::fs::remove_dir_all(&out);
}
