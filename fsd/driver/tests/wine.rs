//! lklfsd.sys under Wine's kernel: built from Linux (scripts/driver.sh),
//! installed from its INF, started in test mode, and driven through
//! `lklfsd-ctl.exe`: an ext4 image made by `mkfs.ext4 -d` is attached as a
//! disk, the in-driver self-test sends real IRPs for what Wine never sends
//! a driver, a volume handle reads sectors and takes FSCTLs, bad IOCTL
//! buffers change nothing, and unload gives every pool byte back. The
//! image is then checked on the Linux side with e2fsck and debugfs.
mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{build_driver, make_image, make_image_with, tool, z_path, Installed, Scratch};

/// The self-test's report: step -> (status, information, detail).
fn report(text: &str) -> Vec<(String, String, u64, String)> {
    text.lines()
        .map(|l| {
            let mut parts = l.splitn(4, ' ');
            let step = parts.next().unwrap().to_string();
            let status = parts.next().unwrap_or("").to_string();
            let info = parts.next().unwrap_or("0").parse().unwrap_or(0);
            (step, status, info, parts.next().unwrap_or("").to_string())
        })
        .collect()
}

/// The deepest stack any job or Linux thread of the driver used so far
/// (measured in test mode, `what` ran): well inside the 48 KiB expanded
/// stack each gets on Windows, with a quarter to spare.
fn stack_kept(d: &Installed, what: &str) {
    let deepest = d.stat("stack_deepest");
    eprintln!("deepest stack use ({what}): {deepest} bytes of 48 KiB");
    assert!(
        deepest > 4096 && deepest < 36 << 10,
        "deepest stack use {deepest} ({what})"
    );
}

fn e2fsck_clean(image: &Path) {
    tool(Command::new("e2fsck").arg("-fn").arg(image));
}

fn debugfs_cat(image: &Path, path: &str) -> Vec<u8> {
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {path}"))
        .arg(image)
        .output()
        .unwrap();
    out.stdout
}

#[test]
fn driver_serves_an_ext4_image_under_wine() {
    let driver = build_driver();
    let scratch = Scratch::new("wine");
    let image = make_image(&scratch.0);
    let before = fs::read(&image).unwrap();
    let d = Installed::new(&driver);

    // Loaded, Linux not booted yet (it boots at the first mount).
    assert_eq!(d.stat("kernel_state"), 0);
    assert_eq!(d.stat("linux_bytes"), 0);

    assert_eq!(d.ctl_ok(&["attach", &z_path(&image)]), "0");
    let list = d.ctl_ok(&["list"]);
    assert_eq!(list, format!("0 0 {} -1 -", 64 << 20));

    // The self-test: MOUNT_VOLUME, then CREATE/QUERY_DIRECTORY/... IRPs.
    let text = d.ctl_ok(&["selftest", "0"]);
    let steps = report(&text);
    for (step, status, _, _) in &steps {
        let want = if step.ends_with("_pending") || step.starts_with("notify_pending") {
            "PENDING"
        } else if step == "lock_cancelled" {
            "0xc0000120"
        } else if step == "mountdev_name_short" {
            "BUFFER_OVERFLOW"
        } else if step == "mount_not_ours" {
            "UNRECOGNIZED_VOLUME"
        } else if step == "unlock_by_another_handle" {
            "NOT_LOCKED"
        } else if step == "read_after_cleanup:\\hello.txt" {
            "FILE_CLOSED"
        } else if step == "after_dismount:\\hello.txt" {
            "VOLUME_DISMOUNTED"
        } else if step == "query_remove_in_use" {
            "ACCESS_DENIED"
        } else if step == "guarded_copy_fault" {
            // STATUS_ACCESS_VIOLATION, caught by the SEH-guarded copy.
            "0xc0000005"
        } else {
            "SUCCESS"
        };
        assert_eq!(status, want, "self-test step {step}:\n{text}");
    }
    let expected_steps = [
        "mountdev_name_short",
        "mountdev_name",
        "mountdev_unique_id",
        "stable_guid",
        "partition_info",
        "geometry_ex",
        "hotplug_info",
        "mount_not_ours",
        "mount",
        "verify_volume",
        "guarded_copy_fault",
        "create:\\",
        "query_directory:\\",
        "notify_pending:\\",
        "create:\\hello.txt",
        "query_information:\\hello.txt",
        "read:\\hello.txt",
        "position:\\hello.txt",
        "set_ea:\\hello.txt",
        "query_ea:\\hello.txt",
        "query_security:\\hello.txt",
        "query_security_4gib:\\hello.txt",
        "set_security:\\hello.txt",
        "create:\\hello.txt#2",
        "lock",
        "lock_pending",
        "unlock",
        "lock_granted",
        "unlock#2",
        "lock_again",
        "lock_cancelled",
        "unlock#3",
        "cancel_race",
        "cleanup:\\hello.txt#waiter0",
        "close:\\hello.txt#waiter0",
        "cleanup:\\hello.txt#waiter1",
        "close:\\hello.txt#waiter1",
        "cleanup:\\hello.txt#waiter2",
        "close:\\hello.txt#waiter2",
        "cleanup:\\hello.txt#waiter3",
        "close:\\hello.txt#waiter3",
        "cleanup:\\hello.txt#waiter4",
        "close:\\hello.txt#waiter4",
        "cleanup:\\hello.txt#waiter5",
        "close:\\hello.txt#waiter5",
        "cleanup:\\hello.txt#reader",
        "close:\\hello.txt#reader",
        "waits_hold_no_worker",
        "cleanup:\\hello.txt#2",
        "close:\\hello.txt#2",
        "cleanup:\\hello.txt",
        "read_after_cleanup:\\hello.txt",
        "close:\\hello.txt",
        "create:\\from-driver.txt",
        "notify_completed:\\",
        "create:\\quiet.txt",
        "cleanup:\\quiet.txt",
        "close:\\quiet.txt",
        "notify_buffered:\\",
        "write:\\from-driver.txt",
        "flush:\\from-driver.txt",
        "cleanup:\\from-driver.txt",
        "close:\\from-driver.txt",
        "create:\\sized.bin",
        "set_information:\\sized.bin",
        "cleanup:\\sized.bin",
        "close:\\sized.bin",
        "cleanup:\\",
        "close:\\",
        "create:volume#locker",
        "fsctl:lock_volume#locker",
        "create:volume",
        "unlock_by_another_handle",
        "cleanup:volume#locker",
        "close:volume#locker",
        "fsctl:lock_volume",
        "fsctl:unlock_volume",
        "forwarded_ioctl",
        "create:\\hello.txt#kept",
        "fsctl:dismount_volume",
        "vpb_swapped",
        "after_dismount:\\hello.txt",
        "cleanup:\\hello.txt#kept",
        "close:\\hello.txt#kept",
        "cleanup:volume",
        "close:volume",
        "mount#again",
        "create:\\hello.txt#again",
        "query_remove_in_use",
        "cleanup:\\hello.txt#again",
        "close:\\hello.txt#again",
        "query_remove",
    ];
    let done: Vec<&str> = steps.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(done, expected_steps, "self-test steps:\n{text}");
    let detail = |name: &str| {
        steps
            .iter()
            .find(|s| s.0 == name)
            .unwrap_or_else(|| panic!("no step {name} in\n{text}"))
    };
    let mut names: Vec<String> = fs::read_dir(scratch.0.join("tree"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .chain([".", "..", "lost+found"].map(String::from))
        .collect();
    names.sort();
    assert_eq!(detail("query_directory:\\").3, names.join("|"));
    // The Mount Manager's answers: the disk's NT name (its length first,
    // when the buffer holds only that), and the file system's UUID.
    let name = "\\Device\\LklFsdImage0";
    assert_eq!(
        detail("mountdev_name_short").3,
        (2 * name.len()).to_string()
    );
    assert_eq!(detail("mountdev_name").3, name);
    let uuid = tool(
        Command::new("blkid")
            .args(["-s", "UUID", "-o", "value"])
            .arg(&image),
    );
    let uuid = lklfsd_control::unhex(&uuid.trim().replace('-', "")).unwrap();
    let want = [b"lklfsd-uuid:".as_slice(), &uuid].concat();
    assert_eq!(detail("mountdev_unique_id").3, lklfsd_control::hex(&want));
    assert_eq!(detail("stable_guid").3, lklfsd_control::hex(&uuid));
    let size = (64u64 << 20).to_le_bytes();
    let partition = lklfsd_control::unhex(&detail("partition_info").3).unwrap();
    assert_eq!(partition.len(), 144);
    assert_eq!(&partition[0..4], &[0, 0, 0, 0], "PARTITION_STYLE_MBR");
    assert_eq!(&partition[16..24], &size, "PartitionLength");
    assert_eq!(partition[32], 0x83, "PartitionType");
    let geometry = lklfsd_control::unhex(&detail("geometry_ex").3).unwrap();
    assert_eq!(&geometry[20..24], &512u32.to_le_bytes(), "BytesPerSector");
    assert_eq!(&geometry[24..32], &size, "DiskSize");
    assert_eq!(
        detail("hotplug_info").3,
        "0800000000000100",
        "DeviceHotplug"
    );
    let hello = fs::read_to_string(scratch.0.join("tree/hello.txt")).unwrap();
    assert_eq!(
        detail("query_information:\\hello.txt").3,
        format!("size={}", hello.len())
    );
    assert_eq!(detail("read:\\hello.txt").2, hello.len() as u64);
    assert_eq!(detail("read:\\hello.txt").3, hello.replace('\n', "\\n"));
    assert_eq!(
        detail("position:\\hello.txt").3,
        hello.len().to_string(),
        "a synchronous file object's position after the read"
    );
    assert!(
        detail("cancel_race").3.starts_with("granted="),
        "the cancel race's counts"
    );
    // The disk's own answer, through the volume: removable, hotplug.
    assert_eq!(detail("forwarded_ioctl").3, "0800000000000100");
    assert_eq!(
        detail("query_remove").3,
        "volumes 1->0",
        "an agreed removal dismounts"
    );
    assert_eq!(detail("create:\\from-driver.txt").2, 2, "FILE_CREATED");
    assert_eq!(detail("write:\\from-driver.txt").2, 29);
    assert_eq!(
        detail("flush:\\from-driver.txt").3,
        "verified=true",
        "a flush through a device whose media may have changed"
    );
    assert_eq!(
        detail("query_ea:\\hello.txt").3,
        "SELFTEST=through IRP_MJ_SET_EA"
    );
    assert!(
        detail("query_security:\\hello.txt").2 > 20,
        "a security descriptor"
    );
    // A user-mode caller's Length of 0xFFFFFFFF: the same descriptor, and
    // Linux alive after it (checked below by the steps that follow).
    assert_eq!(
        detail("query_security_4gib:\\hello.txt").2,
        detail("query_security:\\hello.txt").2
    );
    assert_eq!(detail("query_security_4gib:\\hello.txt").3, "same");
    // FILE_ACTION_ADDED (1) of the file made after the notification.
    assert_eq!(detail("notify_completed:\\").3, "1:from-driver.txt");
    assert_eq!(
        detail("notify_buffered:\\").3,
        "1:quiet.txt",
        "a change made while no notification was pending"
    );
    assert_eq!(d.stat("kernel_state"), 1);
    assert_eq!(d.stat("volumes"), 0, "the self-test dismounts");
    stack_kept(&d, "ext4, the self-test");

    // A volume handle: sectors read back as the image has them, volume
    // information, flush, and FSCTL_DISMOUNT_VOLUME (an IOCTL under Wine).
    let volume = d.ctl_ok(&["mount", "0"]);
    // Unload is refused while a volume is mounted: the service stays.
    let sectors = d.ctl_ok(&["volume", &volume, "read", "1024", "1024"]);
    let image_now = fs::read(&image).unwrap();
    let hex: String = image_now[1024..2048]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sectors, hex, "the superblock through the volume handle");
    let (status, _) = d.ctl(&["volume", &volume, "read", "1000", "512"]);
    assert_eq!(status, 0xC000_000D, "an unaligned volume read");
    let (status, _) = d.ctl(&["volume", &volume, "write", "0", "512"]);
    assert_eq!(status, 0xC000_0022, "writing a mounted volume's sectors");
    // The volume's open and FileFsDeviceInformation, answered on the
    // dispatch thread without a worker: FILE_DEVICE_DISK, mounted.
    let in_place = d.stat("in_place");
    let device = d.ctl_ok(&["volume", &volume, "volinfo", "4", "8"]);
    assert_eq!(
        device, "0700000020000000",
        "FILE_DEVICE_DISK, FILE_DEVICE_IS_MOUNTED"
    );
    assert_eq!(
        d.stat("in_place"),
        in_place + 2,
        "answered without a worker"
    );
    // FileFsSizeInformation: total and free units, sectors per unit, bytes per sector.
    let size = d.ctl_ok(&["volume", &volume, "volinfo", "3", "24"]);
    let bytes: Vec<u8> = (0..size.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&size[i..i + 2], 16).unwrap())
        .collect();
    let unit = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as u64
        * u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as u64;
    let total = u64::from_le_bytes(bytes[0..8].try_into().unwrap()) * unit;
    assert!(total > 32 << 20 && total <= 64 << 20, "volume size {total}");
    d.ctl_ok(&["volume", &volume, "flush"]);
    // The driver completes the dismount with success (its error count does
    // not move); Wine's ntdll then tries to unmount a Unix device for the
    // handle and reports STATUS_BAD_DEVICE_TYPE itself.
    let errors = d.stat("errors");
    let (status, _) = d.ctl(&["volume", &volume, "fsctl", "0x90020"]);
    assert!(
        status == 0 || status == 0xC000_00CB,
        "FSCTL_DISMOUNT_VOLUME: {status:#x}"
    );
    assert_eq!(d.stat("errors"), errors, "the driver failed the dismount");
    assert_eq!(d.stat("volumes"), 0);

    // Bad IOCTL buffers get a status and change nothing.
    let images = d.ctl_ok(&["list"]);
    let attach = lklfsd_control_code(0x800, 2);
    for (code, input, output, want) in [
        (attach, 3, 4, 0xC000_000D_u32),   // shorter than its head
        (attach, 7, 4, 0xC000_000D),       // an odd path length
        (attach, 1 << 20, 4, 0xC000_0033), // a huge path of NULs
        (lklfsd_control_code(0x801, 2), 3, 0, 0xC000_000D), // detach: short
        (lklfsd_control_code(0x803, 1), 0, 10, 0xC000_0023), // statistics: small output
        (lklfsd_control_code(0x803, 0), 0, 10, 0xC000_0010), // statistics as it was (any access)
        (lklfsd_control_code(0x804, 2), 15, 8, 0xC000_000D), // mount: short
        (lklfsd_control_code(0x804, 2), 17, 8, 0xC000_000D), // mount: long
        (lklfsd_control_code(0x8ff, 0), 0, 0, 0xC000_0010), // unknown
    ] {
        let (status, _) = d.ctl(&[
            "raw",
            &code.to_string(),
            &input.to_string(),
            &output.to_string(),
        ]);
        assert_eq!(status, want, "IOCTL {code:#x} in {input} out {output}");
    }
    assert_eq!(
        d.ctl_ok(&["list"]),
        images,
        "bad buffers changed the images"
    );
    let (status, _) = d.ctl(&["mount", "7"]);
    assert_eq!(status, 0xC000_000E, "mount of a disk that is not there");
    let mut other = scratch.0.join("not-ext4.img");
    fs::write(&other, vec![0u8; 1 << 20]).unwrap();
    assert_eq!(d.ctl_ok(&["attach", &z_path(&other)]), "1");
    let (status, _) = d.ctl(&["mount", "1"]);
    assert_eq!(status, 0xC000_014F, "a disk of zeroes is not recognised");
    d.ctl_ok(&["detach", "1"]);
    other.set_extension("missing");
    let (status, _) = d.ctl(&["attach", &z_path(&other)]);
    assert_eq!(status, 0xC000_0034, "attaching a file that does not exist");

    d.ctl_ok(&["detach", "0"]);
    assert_eq!(d.ctl_ok(&["list"]), "");
    let requests = d.stat("requests.3");
    assert!(requests > 0, "READ requests counted");
    let unload = d.stop();
    assert_eq!(
        unload, "LklM 0 0 LklH 0 0 threads 0 semaphores 0 timers 0 dead 0",
        "what unload left"
    );

    e2fsck_clean(&image);
    assert_eq!(
        debugfs_cat(&image, "/from-driver.txt"),
        b"written through IRP_MJ_WRITE\n"
    );
    assert_eq!(debugfs_cat(&image, "/hello.txt"), hello.as_bytes());
    // Windows EA names are case-insensitive: the core keeps them in lower case.
    let ea = tool(
        Command::new("debugfs")
            .args(["-R", "ea_list /hello.txt"])
            .arg(&image),
    );
    assert!(
        ea.contains("user.selftest (21) = \"through IRP_MJ_SET_EA\""),
        "{ea}"
    );
    let stat = tool(
        Command::new("debugfs")
            .args(["-R", "stat /sized.bin"])
            .arg(&image),
    );
    assert!(stat.contains("Size: 12345"), "{stat}");
    assert_ne!(
        fs::read(&image).unwrap(),
        before,
        "the driver wrote to the image"
    );
}

/// CTL_CODE(FILE_DEVICE_DISK_FILE_SYSTEM, function, METHOD_BUFFERED, access).
fn lklfsd_control_code(function: u32, access: u32) -> u32 {
    (8 << 16) | (access << 14) | (function << 2)
}

#[test]
fn unload_is_refused_while_a_volume_is_mounted() {
    let driver = build_driver();
    let scratch = Scratch::new("refused");
    let image = make_image(&scratch.0);
    let d = Installed::new(&driver);
    assert_eq!(d.ctl_ok(&["attach", &z_path(&image)]), "0");
    let volume = d.ctl_ok(&["mount", "0"]);
    // The driver leaves DriverUnload unset while a volume device lives, so
    // ZwUnloadDriver refuses: the driver, its volume and Linux stay and
    // still serve. (Wine 8's service manager then reports the service
    // stopped all the same and takes no more controls, so this test ends
    // without an unload; every other test shows unload once nothing is
    // mounted.)
    d.try_stop();
    assert_eq!(d.stat("volumes"), 1, "the volume after a refused unload");
    assert_eq!(d.stat("kernel_state"), 1);
    let sectors = d.ctl_ok(&["volume", &volume, "read", "1024", "1024"]);
    let hex: String = fs::read(&image).unwrap()[1024..2048]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sectors, hex, "the superblock after the refused unload");
}

#[test]
fn a_linux_panic_is_contained() {
    let driver = build_driver();
    let scratch = Scratch::new("panic");
    let image = make_image(&scratch.0);
    let d = Installed::new(&driver);
    assert_eq!(d.ctl_ok(&["attach", &z_path(&image)]), "0");
    d.ctl_ok(&["mount", "0"]);
    assert_eq!(d.stat("kernel_state"), 1);

    // Linux panics (lkl::crash): the request that made it fails with a
    // status, and winedevice (the "Windows kernel") stays up.
    let (status, _) = d.ctl(&["panic"]);
    assert_eq!(status, 0xC000_0183, "STATUS_DRIVER_INTERNAL_ERROR");
    assert_eq!(d.stat("kernel_state"), 2);
    let console = d.ctl_ok(&["stats"]);
    assert!(
        console.contains("crash requested by IOCTL_PANIC"),
        "{console}"
    );
    // Every later request that needs Linux fails the same way.
    let (status, _) = d.ctl(&["volume", "0", "read", "0", "512"]);
    assert_eq!(status, 0xC000_0183);
    let (status, _) = d.ctl(&["selftest", "0"]);
    assert_eq!(status, 0xC000_0183);
    // What does not need Linux still works.
    assert_eq!(d.ctl_ok(&["list"]), format!("0 0 {} 0 -", 64 << 20));

    // Unload after the panic: every thread ends, Linux's memory is freed;
    // the host objects Linux held (its semaphores) and the abandoned
    // volume stay, since no code that owns them can run.
    let unload = d.stop();
    let fields: Vec<&str> = unload.split(' ').collect();
    eprintln!("after the panic: {unload}");
    assert_eq!(&fields[..3], ["LklM", "0", "0"], "{unload}");
    assert_eq!(&fields[6..8], ["threads", "0"], "{unload}");
    assert_eq!(&fields[12..], ["dead", "1"], "{unload}");
    // The driver loads again, with a new kernel.
    d.start();
    assert_eq!(d.ctl_ok(&["attach", &z_path(&image)]), "0");
    d.ctl_ok(&["mount", "0"]);
    assert_eq!(d.stat("kernel_state"), 1);
    d.ctl_ok(&["detach", "0"]);
    d.stop();
    // The panic struck a mounted file system: the journal makes it whole.
    let out = Command::new("e2fsck")
        .arg("-fy")
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        out.status.code().unwrap_or(8) < 4,
        "e2fsck -fy: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    e2fsck_clean(&image);
}

/// Every NT routine the driver imports, checked against the list in the
/// repository: a new import is a deliberate change (and must be checked
/// against Wine's stubs, see ../shared/notes/wine-kernel.md).
#[test]
fn imports_are_the_listed_ones() {
    let driver = build_driver();
    let out = Command::new("x86_64-w64-mingw32-objdump")
        .arg("-p")
        .arg(driver.join("lklfsd.sys"))
        .output()
        .expect("x86_64-w64-mingw32-objdump (binutils-mingw-w64-x86-64)");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut imports = Vec::new();
    let mut dll = String::new();
    for line in text.lines() {
        if let Some(name) = line.trim().strip_prefix("DLL Name: ") {
            dll = name.to_ascii_lowercase();
        } else if !dll.is_empty() {
            // "	  vma  Hint/Ord Member-Name" rows: hint, then the name.
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() == 3
                && cols[1].chars().all(|c| c.is_ascii_digit())
                && u64::from_str_radix(cols[0], 16).is_ok()
            {
                imports.push(format!("{dll} {}", cols[2]));
            }
        }
    }
    imports.sort();
    let listed =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("imports.txt")).unwrap();
    let listed: Vec<String> = listed
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(String::from)
        .collect();
    assert_eq!(
        imports, listed,
        "the driver's imports changed: update fsd/driver/imports.txt deliberately"
    );
}

/// The name in a FILE_FS_ATTRIBUTE_INFORMATION (hex as lklfsd-ctl prints it).
fn file_system_name(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let units: Vec<u16> = bytes[12..12 + len]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).unwrap()
}

/// MOUNT_VOLUME's recognition of btrfs and xfs (made by their own mkfs),
/// their volumes' names and sectors through a handle, an ext4 partition
/// of a GPT disk (Linux reads the partition table), and their checkers
/// after the driver let them go.
#[test]
fn btrfs_xfs_and_a_partition_are_mounted() {
    let driver = build_driver();
    let scratch = Scratch::new("btrfs-xfs");
    let tree = scratch.0.join("tree");
    fs::create_dir_all(&tree).unwrap();
    fs::write(tree.join("hello.txt"), "hello from btrfs\n").unwrap();
    let btrfs = scratch.0.join("btrfs.img");
    fs::File::create(&btrfs)
        .unwrap()
        .set_len(128 << 20)
        .unwrap();
    tool(
        Command::new("mkfs.btrfs")
            .args(["-q", "--rootdir"])
            .arg(&tree)
            .arg(&btrfs),
    );
    let xfs = scratch.0.join("xfs.img");
    fs::File::create(&xfs).unwrap().set_len(320 << 20).unwrap();
    tool(Command::new("mkfs.xfs").args(["-q", "-f"]).arg(&xfs));

    // A GPT disk (sfdisk) whose partition 1, at 1 MiB, is ext4 of the tree.
    let gpt = scratch.0.join("gpt.img");
    fs::File::create(&gpt).unwrap().set_len(48 << 20).unwrap();
    let layout = "label: gpt\nstart=2048, size=65536, type=linux\n";
    tool(Command::new("sh").args([
        "-c",
        &format!("printf '{layout}' | sfdisk -q {}", gpt.display()),
    ]));
    tool(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-E", "offset=1048576", "-d"])
            .arg(&tree)
            .arg(&gpt)
            .arg("32768k"),
    );

    let d = Installed::new(&driver);
    for (disk, image, name, superblock) in [("0", &btrfs, "btrfs", 0x10000), ("1", &xfs, "xfs", 0)]
    {
        assert_eq!(d.ctl_ok(&["attach", &z_path(image)]), disk);
        let volume = d.ctl_ok(&["mount", disk]);
        // FileFsAttributeInformation: the file system's name.
        let attributes = d.ctl_ok(&["volume", &volume, "volinfo", "5", "64"]);
        assert_eq!(file_system_name(&attributes), name);
        let sectors = d.ctl_ok(&["volume", &volume, "read", &superblock.to_string(), "512"]);
        let bytes = fs::read(image).unwrap();
        let hex: String = bytes[superblock..superblock + 512]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            sectors, hex,
            "{name}'s superblock through the volume handle"
        );
    }
    assert_eq!(d.ctl_ok(&["attach", &z_path(&gpt)]), "2");
    // The whole disk holds no file system; its partition 1 does.
    let (status, _) = d.ctl(&["mount", "2"]);
    assert_eq!(status, 0xC000_014F, "a partitioned disk is not a volume");
    let volume = d.ctl_ok(&["mount", "2", "1"]);
    let attributes = d.ctl_ok(&["volume", &volume, "volinfo", "5", "64"]);
    assert_eq!(file_system_name(&attributes), "ext4");
    let (status, _) = d.ctl(&["volume", &volume, "read", "0", "512"]);
    assert_eq!(status, 0xC000_0010, "a partition's sectors are not offered");
    for disk in ["0", "1", "2"] {
        d.ctl_ok(&["detach", disk]);
    }
    stack_kept(&d, "btrfs, xfs, an ext4 partition");
    d.stop();
    let partition = scratch.0.join("partition.img");
    fs::write(
        &partition,
        &fs::read(&gpt).unwrap()[1 << 20..(1 << 20) + (32 << 20)],
    )
    .unwrap();
    e2fsck_clean(&partition);
    tool(Command::new("btrfs").arg("check").arg(&btrfs));
    tool(Command::new("xfs_repair").arg("-n").arg(&xfs));
}

/// `lklfs.exe attach`, `volumes` and `detach` with the driver installed:
/// an ext4 image attached and mounted (its volume then reads the image's
/// bytes), listed, a second image refused with the driver's reason and
/// left detached, the first detached again; the image checks clean.
#[test]
fn lklfs_exe_attaches_lists_and_detaches() {
    let driver = build_driver();
    let lklfs = common::wine::build_windows(&["-p", "lklfs"]).join("lklfs.exe");
    let scratch = Scratch::new("lklfs-attach");
    let image = make_image(&scratch.0);
    let d = Installed::new(&driver);
    let run = |args: &[&str]| {
        let (ok, out, err) = d.wine.run_to_files(d.wine.command(&lklfs).args(args));
        (ok, out.trim_end().to_string(), err)
    };
    let (ok, out, err) = run(&["attach", &z_path(&image), "l:"]);
    assert!(ok, "attach: {out}{err}");
    assert!(
        out.ends_with("mounted as L: (\\\\.\\LklFsdVolume0)"),
        "{out}"
    );
    let (ok, out, err) = run(&["volumes"]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        format!("disk 0 {} bytes L: \\\\.\\LklFsdVolume0", 64 << 20)
    );
    // The volume is the image's file system: its first sector through it,
    // and through the letter (Wine's Mount Manager refuses the letter, so
    // it is a symbolic link to the image disk, which `\\.\L:` opens).
    let bytes = fs::read(&image).unwrap();
    let sector = d.ctl_ok(&["volume", "0", "read", "1024", "1024"]);
    assert_eq!(sector, lklfsd_control::hex(&bytes[1024..2048]));
    let sector = d.ctl_ok(&["volume", "L:", "read", "1024", "1024"]);
    assert_eq!(sector, lklfsd_control::hex(&bytes[1024..2048]));
    let (ok, _, err) = run(&["attach", &z_path(&image), "7:"]);
    assert!(!ok && err.contains("not a drive letter"), "{err}");
    let copy = scratch.0.join("copy.img");
    fs::copy(&image, &copy).unwrap();
    let (ok, _, err) = run(&["attach", &z_path(&copy), "L:"]);
    assert!(!ok && err.contains("0xc0000035"), "a letter taken: {err}");

    let zeroes = scratch.0.join("zeroes.img");
    fs::write(&zeroes, vec![0u8; 1 << 20]).unwrap();
    let (ok, _, err) = run(&["attach", &z_path(&zeroes)]);
    assert!(!ok, "a disk of zeroes attached");
    assert!(err.contains("no file system it knows"), "{err}");
    assert_eq!(
        run(&["volumes"]).1.lines().count(),
        1,
        "the refused image stays detached"
    );

    let (ok, _, err) = run(&["detach", "L:"]);
    assert!(ok, "detach: {err}");
    assert_eq!(run(&["volumes"]).1, "");
    let gone = d.wine.run_to_files(
        d.wine
            .command(&d.ctl)
            .args(["volume", "L:", "read", "1024", "1024"]),
    );
    assert!(
        !gone.0 && gone.2.contains("cannot open \\\\.\\L:"),
        "the letter is gone with the disk: {gone:?}"
    );
    d.stop();
    e2fsck_clean(&image);
}

/// One relay request line (see `Installed::relay`).
fn relay_line(
    major: u32,
    volume: u32,
    handle: u32,
    words: [u32; 4],
    name: &str,
    data: &[u8],
) -> String {
    let name: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let [a, b, c, d] = words;
    format!(
        "{major} 0 {volume} {handle} {a} {b} {c} {d} 0 0 {} {}\n",
        lklfsd_control::hex(&name),
        lklfsd_control::hex(data)
    )
}

/// Whether ext4's journal must be replayed before the image is used.
fn needs_recovery(image: &Path) -> bool {
    let out = Command::new("dumpe2fs")
        .arg("-h")
        .arg(image)
        .output()
        .unwrap();
    let header = String::from_utf8_lossy(&out.stdout).into_owned();
    let features = header
        .lines()
        .find(|l| l.starts_with("Filesystem features:"))
        .expect("dumpe2fs's features")
        .to_string();
    features.contains("needs_recovery")
}

/// IRP_MJ_SHUTDOWN (what Windows sends the control device as it goes
/// down) leaves every volume cleanly unmounted: Wine ended at once after
/// it (no unload, no detach) leaves an ext4 image whose journal needs no
/// replay, holding what was written. Without it, the same power cut
/// leaves the journal to replay (which shows the test can tell), which
/// the next mount does and reports.
#[test]
fn shutdown_leaves_every_volume_clean() {
    let driver = build_driver();
    let scratch = Scratch::new("shutdown");
    for send_shutdown in [false, true] {
        let image = make_image(&scratch.0);
        let d = Installed::new(&driver);
        assert_eq!(d.ctl_ok(&["attach", &z_path(&image)]), "0");
        let volume: u32 = d.ctl_ok(&["mount", "0"]).parse().unwrap();
        let data = b"written before the power went";
        let mut lines = vec![
            // FILE_OVERWRITE_IF, GENERIC_WRITE, every share.
            relay_line(
                0,
                volume,
                u32::MAX,
                [5, 0, 0x4000_0000, 7],
                "\\shutdown.txt",
                &[],
            ),
            relay_line(4, volume, 0, [0; 4], "", data),
        ];
        let late = b"; and after the shutdown";
        if send_shutdown {
            let control = lklfsd_control::RELAY_TO_CONTROL;
            lines.push(relay_line(16, control, u32::MAX, [0; 4], "", &[]));
            // A write after it (the volume stays mounted, frozen): it
            // lands, and the disk is clean again after it.
            lines.push(format!(
                "4 0 {volume} 0 0 0 0 0 {} 0  {}\n",
                data.len(),
                lklfsd_control::hex(late)
            ));
        }
        let replies = d.relay(&lines);
        for reply in &replies {
            assert!(reply.starts_with("0 "), "relay replies: {replies:?}");
        }
        d.kill();
        assert_eq!(
            needs_recovery(&image),
            !send_shutdown,
            "shutdown sent: {send_shutdown}"
        );
        if !send_shutdown {
            // Mounted again, Linux replays the journal, and the event
            // log is told (counted under Wine, which keeps no log).
            let d = Installed::new(&driver);
            assert_eq!(d.ctl_ok(&["attach", &z_path(&image)]), "0");
            d.ctl_ok(&["mount", "0"]);
            assert_eq!(d.stat("events"), 1, "a journal replay reported");
            d.ctl_ok(&["detach", "0"]);
            stack_kept(&d, "ext4's journal replayed");
            d.stop();
        }
        e2fsck_clean(&image);
        if send_shutdown {
            assert_eq!(
                debugfs_cat(&image, "/shutdown.txt"),
                [&data[..], late].concat()
            );
        }
    }
}

/// A disk Windows presents, as the driver's PnP arrival handler sees it
/// (under Wine, a Unix file behind `\\.\X:`, as Wine makes drives'
/// devices; the handler runs through the test-mode IOCTLs that stand for
/// the PnP notifications): a disk holding ext4 is attached (flag 2,
/// found), one of zeroes is not; the found disk mounts and reads as the
/// image; an orderly removal (an eject) is refused while a file is open
/// and goes cleanly after, leaving no journal to replay; a surprise
/// removal with data Linux had not written back makes the volume's open
/// handle answer STATUS_LOST_WRITEBEHIND_DATA, and the file system is
/// repairable.
#[test]
fn found_disks_arrive_and_depart() {
    let driver = build_driver();
    let lklfs = common::wine::build_windows(&["-p", "lklfs"]).join("lklfs.exe");
    let scratch = Scratch::new("found");
    let image = make_image(&scratch.0);
    let zeroes = scratch.0.join("zeroes.img");
    fs::write(&zeroes, vec![0u8; 4 << 20]).unwrap();
    let d = Installed::new(&driver);
    d.wine.map_device('x', &image);
    d.wine.map_device('y', &zeroes);
    let (status, _) = d.ctl(&["arrive", "\\??\\Y:"]);
    assert_eq!(status, 0xC000_014F, "a disk of zeroes is not ours");
    assert_eq!(d.ctl_ok(&["arrive", "\\??\\X:"]), "0");
    assert_eq!(d.ctl_ok(&["arrive", "\\??\\X:"]), "0", "arriving twice");
    // The same file system by another device path: the same disk.
    d.wine.map_device('w', &image);
    assert_eq!(d.ctl_ok(&["arrive", "\\??\\W:"]), "0", "another path to it");
    assert_eq!(d.ctl_ok(&["list"]), format!("0 2 {} -1 -", 64 << 20));
    let volume: u32 = d.ctl_ok(&["mount", "0"]).parse().unwrap();
    let bytes = fs::read(&image).unwrap();
    let sector = d.ctl_ok(&["volume", &volume.to_string(), "read", "1024", "1024"]);
    assert_eq!(sector, lklfsd_control::hex(&bytes[1024..2048]));

    // Read-only until its UUID is opted in to writing.
    let create = relay_line(
        0,
        volume,
        u32::MAX,
        [5, 0, 0x4000_0000, 7],
        "\\found.txt",
        &[],
    );
    let replies = d.relay(std::slice::from_ref(&create));
    assert!(
        replies[0].starts_with(&format!("{} ", 0xC000_00A2_u32)),
        "STATUS_MEDIA_WRITE_PROTECTED: {replies:?}"
    );
    assert_eq!(
        fs::read(&image).unwrap(),
        bytes,
        "the found disk was written"
    );
    let uuid = String::from_utf8(
        Command::new("blkid")
            .args(["-s", "UUID", "-o", "value"])
            .arg(&image)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let uuid = uuid.trim();
    let lklfs_volumes = |args: &[&str]| {
        let (ok, out, err) = d.wine.run_to_files(d.wine.command(&lklfs).args(args));
        assert!(ok, "lklfs {args:?}: {out}{err}");
        out.trim_end().to_string()
    };
    let (ok, _, err) =
        d.wine.run_to_files(
            d.wine
                .command(&lklfs)
                .args(["volumes", "--rw", "not-a-uuid"]),
        );
    assert!(!ok && err.contains("not a file system UUID"), "{err}");
    assert_eq!(
        lklfs_volumes(&["volumes", "--rw", &uuid.to_uppercase()]),
        format!("read-write {uuid}")
    );
    d.ctl_ok(&["depart", "\\??\\X:"]);
    assert_eq!(d.ctl_ok(&["arrive", "\\??\\X:"]), "0");
    let volume: u32 = d.ctl_ok(&["mount", "0"]).parse().unwrap();

    let data = b"on a disk Windows presents";
    let replies = d.relay(&[
        relay_line(
            0,
            volume,
            u32::MAX,
            [5, 0, 0x4000_0000, 7],
            "\\found.txt",
            &[],
        ),
        relay_line(4, volume, 0, [0; 4], "", data),
    ]);
    assert!(replies.iter().all(|r| r.starts_with("0 ")), "{replies:?}");
    let (status, _) = d.ctl(&["depart", "\\??\\X:"]);
    assert_eq!(status, 0xC000_0022, "an eject while a file is open");
    assert_eq!(d.ctl_ok(&["list"]), format!("0 2 {} {volume} -", 64 << 20));
    d.relay(&[relay_line(2, volume, 0, [0; 4], "", &[])]);
    d.ctl_ok(&["depart", "\\??\\X:"]);
    assert_eq!(d.ctl_ok(&["list"]), "");
    assert!(
        !needs_recovery(&image),
        "an orderly removal unmounts cleanly"
    );
    e2fsck_clean(&image);
    assert_eq!(debugfs_cat(&image, "/found.txt"), data);

    // Surprise: the device goes with a file's data still in Linux.
    assert_eq!(d.ctl_ok(&["arrive", "\\??\\X:"]), "0");
    let volume: u32 = d.ctl_ok(&["mount", "0"]).parse().unwrap();
    let big = vec![0x5au8; 1 << 20];
    let replies = d.relay(&[
        relay_line(
            0,
            volume,
            u32::MAX,
            [5, 0, 0x4000_0000, 7],
            "\\lost.bin",
            &[],
        ),
        relay_line(4, volume, 0, [0; 4], "", &big),
    ]);
    assert!(replies.iter().all(|r| r.starts_with("0 ")), "{replies:?}");
    assert_eq!(d.stat("events"), 0);
    d.ctl_ok(&["depart", "--surprise", "\\??\\X:"]);
    assert_eq!(d.ctl_ok(&["list"]), "");
    assert_eq!(d.stat("events"), 1, "lost writes reported");
    let replies = d.relay(&[relay_line(4, volume, 0, [0; 4], "", b"more")]);
    assert!(
        replies[0].starts_with(&format!("{} ", 0xC000_0222_u32)),
        "the open handle after a surprise removal: {replies:?}"
    );
    d.relay(&[relay_line(2, volume, 0, [0; 4], "", &[])]);
    d.stop();
    let repair = Command::new("e2fsck")
        .arg("-fy")
        .arg(&image)
        .status()
        .unwrap();
    assert!(
        repair.code().is_some_and(|c| c <= 2),
        "e2fsck -fy: {repair}"
    );
    e2fsck_clean(&image);
}

/// Two directory queries on one handle at once: two clients relay
/// QUERY_DIRECTORY (restarting now and then) on the same handle, so two
/// workers serve it together. Every answer is a query's (SUCCESS or
/// NO_MORE_FILES), Linux stays up, and a listing afterwards is whole.
#[test]
fn two_directory_queries_on_one_handle_at_once() {
    let driver = build_driver();
    let scratch = Scratch::new("one-handle");
    let image = make_image(&scratch.0);
    let d = Installed::new(&driver);
    assert_eq!(d.ctl_ok(&["attach", &z_path(&image)]), "0");
    let volume: u32 = d.ctl_ok(&["mount", "0"]).parse().unwrap();
    // CREATE of the root for listing: FILE_OPEN, FILE_DIRECTORY_FILE,
    // FILE_LIST_DIRECTORY, share all.
    let replies = d.relay(&[relay_line(0, volume, u32::MAX, [1, 1, 1, 7], "\\", &[])]);
    let handle: u32 = replies[0].split(' ').nth(1).unwrap().parse().unwrap();
    // IRP_MN_QUERY_DIRECTORY, FileNamesInformation (12), a 512-byte
    // answer; SL_RESTART_SCAN (1) on every third.
    let lines = |restart_every: usize| -> Vec<String> {
        (0..150)
            .map(|i| {
                let flags = u32::from(i % restart_every == 0);
                format!("12 1 {volume} {handle} 12 {flags} 0 0 0 512  \n")
            })
            .collect()
    };
    let dir = d.wine.drive_c().join("lklfsd");
    fs::write(dir.join("one.in"), lines(3).concat()).unwrap();
    fs::write(dir.join("two.in"), lines(5).concat()).unwrap();
    let start = |name: &str| {
        d.wine
            .command("C:\\lklfsd\\lklfsd-ctl.exe")
            .arg("relay")
            .stdin(fs::File::open(dir.join(format!("{name}.in"))).unwrap())
            .stdout(fs::File::create(dir.join(format!("{name}.out"))).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut one, mut two) = (start("one"), start("two"));
    assert!(one.wait().unwrap().success() && two.wait().unwrap().success());
    for name in ["one", "two"] {
        let out = fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
        assert_eq!(out.lines().count(), 150, "{name}: {out}");
        for reply in out.lines() {
            let status = reply.split(' ').next().unwrap();
            assert!(
                status == "0" || status == 0x8000_0006_u32.to_string(),
                "{name}: {reply}"
            );
        }
    }
    assert_eq!(d.stat("kernel_state"), 1, "Linux is alive");
    d.relay(&[relay_line(2, volume, handle, [0; 4], "", &[])]);
}

/// The lazy writer's end of file (FileEndOfFileInformation with
/// AdvanceOnly, CcSetValidData) moves only the valid data length: never
/// a resize, so a smaller one cuts nothing; without AdvanceOnly the same
/// request truncates (the control). debugfs reads the sizes.
#[test]
fn advance_only_end_of_file_is_no_resize() {
    let driver = build_driver();
    let scratch = Scratch::new("advance-only");
    let image = make_image(&scratch.0);
    let d = Installed::new(&driver);
    // 8 KiB written, then FileEndOfFileInformation (20) of 4 KiB with
    // AdvanceOnly (`advance`): the file's size afterwards, as debugfs
    // reads it.
    let size_after = |advance: u32| {
        assert_eq!(d.ctl_ok(&["attach", &z_path(&image)]), "0");
        let volume: u32 = d.ctl_ok(&["mount", "0"]).parse().unwrap();
        let overwrite = [5, 0, 0x4000_0000, 7];
        let replies = d.relay(&[
            relay_line(0, volume, u32::MAX, overwrite, "\\vdl.bin", &[]),
            relay_line(4, volume, 0, [0; 4], "", &[0x42u8; 8192]),
        ]);
        assert!(replies.iter().all(|r| r.starts_with("0 ")), "{replies:?}");
        let handle: u32 = replies[0].split(' ').nth(1).unwrap().parse().unwrap();
        let end = 4096u64.to_le_bytes();
        let set = d.relay(&[relay_line(6, volume, handle, [20, advance, 0, 0], "", &end)]);
        assert!(set[0].starts_with("0 "), "{set:?}");
        d.relay(&[relay_line(2, volume, handle, [0; 4], "", &[])]);
        d.ctl_ok(&["detach", "0"]);
        debugfs_cat(&image, "/vdl.bin").len()
    };
    assert_eq!(size_after(1), 8192, "AdvanceOnly resized");
    assert_eq!(size_after(0), 4096, "the control resize");
    e2fsck_clean(&image);
}

/// FILE_RENAME_INFORMATION as the I/O manager sends it, with every name
/// in the buffer (a full path, or a bare name).
fn rename_info(replace: bool, name: &str) -> Vec<u8> {
    let name: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut b = vec![0u8; 20];
    b[0] = u8::from(replace);
    b[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
    b.extend_from_slice(&name);
    b
}

/// Renames as Windows sends them: the I/O manager opens the target's
/// directory with SL_OPEN_TARGET_DIRECTORY (Information FILE_EXISTS or
/// FILE_DOES_NOT_EXIST), then sends SET_INFORMATION with that file object
/// as the target, whose name is now the last component; a bare name
/// with no target file object renames in place. debugfs reads the tree.
/// A disk with 4 KiB sectors (an image attached `--4k`, as of a 4Kn
/// disk): the volume's Linux disk takes the device's sector size from its
/// geometry, so every transfer is whole 4 KiB sectors (the disk refuses
/// anything else, as a 4Kn disk does); the file system mounts, is written
/// and comes back clean.
#[test]
fn a_disk_with_4k_sectors_mounts() {
    let driver = build_driver();
    let scratch = Scratch::new("4kn");
    let image = make_image_with(&scratch.0, &["-b", "4096"]);
    let d = Installed::new(&driver);
    assert_eq!(d.ctl_ok(&["attach", "--4k", &z_path(&image)]), "0");
    assert_eq!(d.ctl_ok(&["list"]), format!("0 4 {} -1 -", 64 << 20));
    let volume: u32 = d.ctl_ok(&["mount", "0"]).parse().unwrap();
    let v = volume.to_string();
    let sectors = d.ctl_ok(&["volume", &v, "read", "4096", "4096"]);
    let hex: String = fs::read(&image).unwrap()[4096..8192]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sectors, hex, "a 4 KiB sector through the volume handle");
    let (status, _) = d.ctl(&["volume", &v, "read", "512", "512"]);
    assert_eq!(status, 0xC000_000D, "a 512-byte read of a 4Kn volume");
    let data = b"written on a disk of 4 KiB sectors";
    let replies = d.relay(&[
        // FILE_OVERWRITE_IF, GENERIC_WRITE, every share.
        relay_line(0, volume, u32::MAX, [5, 0, 0x4000_0000, 7], "\\4k.txt", &[]),
        relay_line(4, volume, 0, [0; 4], "", data),
        relay_line(2, volume, 0, [0; 4], "", &[]),
    ]);
    for reply in &replies {
        assert!(reply.starts_with("0 "), "relay replies: {replies:?}");
    }
    d.ctl_ok(&["detach", "0"]);
    e2fsck_clean(&image);
    assert_eq!(debugfs_cat(&image, "/4k.txt"), data);
    assert_eq!(debugfs_cat(&image, "/hello.txt"), b"hello from ext4\n");
}

#[test]
fn renames_follow_the_target_directory_protocol() {
    let driver = build_driver();
    let scratch = Scratch::new("rename-protocol");
    let image = make_image(&scratch.0);
    let d = Installed::new(&driver);
    assert_eq!(d.ctl_ok(&["attach", &z_path(&image)]), "0");
    let volume: u32 = d.ctl_ok(&["mount", "0"]).parse().unwrap();
    let hex = |s: &str| {
        let units: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        lklfsd_control::hex(&units)
    };
    // CREATE: words disposition, options, access, share; offset bit 0
    // asks for SL_OPEN_TARGET_DIRECTORY.
    let create = |name: &str, target: bool| {
        format!(
            "0 0 {volume} {} 1 0 {} 7 {} 0 {} \n",
            u32::MAX,
            0x0001_0000 | 0x0010_0000 | 0x0000_0080,
            u64::from(target),
            hex(name)
        )
    };
    let replies = d.relay(&[
        create("\\hello.txt", false),
        create("\\dir\\moved.txt", true),
    ]);
    let field = |r: &str, i: usize| -> u64 { r.split(' ').nth(i).unwrap().parse().unwrap() };
    assert_eq!(field(&replies[0], 0), 0, "{replies:?}");
    assert_eq!(field(&replies[1], 0), 0, "{replies:?}");
    assert_eq!(field(&replies[1], 2), 5, "FILE_DOES_NOT_EXIST");
    let (source, target) = (field(&replies[0], 1), field(&replies[1], 1));
    // FileRenameInformation (10), the full path in the buffer, the target
    // file object's handle (plus one) in c.
    let rename = format!(
        "6 0 {volume} {source} 10 0 {} 0 0 0  {}\n",
        target + 1,
        lklfsd_control::hex(&rename_info(false, "\\dir\\moved.txt"))
    );
    let replies = d.relay(&[rename]);
    assert_eq!(field(&replies[0], 0), 0, "rename: {replies:?}");
    // In place: a bare name, no target file object.
    let in_place = format!(
        "6 0 {volume} {source} 10 0 0 0 0 0  {}\n",
        lklfsd_control::hex(&rename_info(false, "renamed.txt"))
    );
    let replies = d.relay(&[in_place]);
    assert_eq!(field(&replies[0], 0), 0, "rename in place: {replies:?}");
    // The target directory open of an existing name says so.
    let replies = d.relay(&[create("\\dir\\a.txt", true)]);
    assert_eq!(field(&replies[0], 2), 4, "FILE_EXISTS: {replies:?}");
    let third = field(&replies[0], 1);
    for handle in [source, target, third] {
        d.relay(&[relay_line(2, volume, handle as u32, [0; 4], "", &[])]);
    }
    d.ctl_ok(&["detach", "0"]);
    assert_eq!(
        debugfs_cat(&image, "/dir/renamed.txt"),
        b"hello from ext4\n"
    );
    assert!(debugfs_cat(&image, "/hello.txt").is_empty());
    assert!(debugfs_cat(&image, "/dir/moved.txt").is_empty());
    e2fsck_clean(&image);
}
