//! Volume-wide behaviour: a read-only volume, hidden dot-files, names that
//! differ only by case, and the record of changed directories.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::{Action, NtStatus, VolumeOptions};

fn tree(root: &std::path::Path) {
    std::fs::write(root.join(".hidden"), b"h").unwrap();
    std::fs::write(root.join("Name"), b"upper").unwrap();
    std::fs::write(root.join("name"), b"lower").unwrap();
    std::fs::create_dir(root.join("d")).unwrap();
}

fn attributes(t: &TestVolume, name: &str) -> u32 {
    let c = t
        .create(name, FILE_OPEN, 0, FILE_READ_ATTRIBUTES, 7)
        .unwrap()
        .ccb;
    let mut buf = [0u8; 40];
    fsd::fileinfo::query(t.vol(), &c, fsd::fileinfo::FILE_BASIC_INFORMATION, &mut buf);
    t.close(c);
    u32_at(&buf, 32)
}

#[test]
fn read_only_volume() {
    let options = VolumeOptions {
        read_only: true,
        ..VolumeOptions::default()
    };
    let t = TestVolume::with_options("ro", &[], tree, options);
    assert!(t.vol().is_read_only());
    assert_eq!(
        t.create("\\Name", FILE_OPEN, 0, GENERIC_WRITE, 7).err(),
        Some(NtStatus::MEDIA_WRITE_PROTECTED)
    );
    assert_eq!(
        t.create("\\new", FILE_CREATE, 0, GENERIC_READ, 7).err(),
        Some(NtStatus::MEDIA_WRITE_PROTECTED)
    );
    // MAXIMUM_ALLOWED narrows to what a read-only volume allows.
    let c = t
        .create("\\Name", FILE_OPEN, 0, MAXIMUM_ALLOWED, 7)
        .unwrap()
        .ccb;
    assert_eq!(c.granted_access() & (FILE_WRITE_DATA | DELETE), 0);
    assert_ne!(c.granted_access() & FILE_READ_DATA, 0);
    t.close(c);
    let mut buf = [0u8; 64];
    fsd::volinfo::query(
        t.vol(),
        fsd::volinfo::FILE_FS_ATTRIBUTE_INFORMATION,
        &mut buf,
    );
    assert_ne!(u32_at(&buf, 0) & fsd::volinfo::FILE_READ_ONLY_VOLUME, 0);
}

/// An ext4 file system with a read-only-compatible feature Linux does
/// not know (set with debugfs, which keeps the superblock's checksum):
/// Linux will not write it, so the volume mounts read-only, says so, reads
/// its files, refuses writes, and leaves the image as it was.
#[test]
fn a_file_system_linux_cannot_write_mounts_read_only() {
    let unknown_feature = |image: &std::path::Path| {
        let bytes = std::fs::read(image).unwrap();
        let ro_compat = u32_at(&bytes, 1024 + 0x64) | 0x4000_0000;
        let request = format!("ssv feature_ro_compat {ro_compat:#x}");
        let image = image.display().to_string();
        run("debugfs", &["-w", "-R", &request, &image]);
    };
    let mut t = TestVolume::prepared(
        "ro-features",
        &[],
        tree,
        unknown_feature,
        VolumeOptions::default(),
    );
    let before = std::fs::read(&t.image).unwrap();
    assert!(t.vol().read_only_for_features());
    assert!(t.vol().is_read_only());
    let mut c = t
        .create("\\Name", FILE_OPEN, 0, GENERIC_READ, 7)
        .unwrap()
        .ccb;
    let mut buf = [0u8; 16];
    let read = fsd::read::read(t.vol(), &mut c, Some(0), &mut buf);
    assert_eq!(&buf[..read.information as usize], b"upper");
    t.close(c);
    assert_eq!(
        t.create("\\new", FILE_CREATE, 0, GENERIC_WRITE, 7).err(),
        Some(NtStatus::MEDIA_WRITE_PROTECTED)
    );
    t.vol.take().unwrap().dismount().unwrap();
    t.disk.take().unwrap().remove().unwrap();
    assert!(
        std::fs::read(&t.image).unwrap() == before,
        "the image changed"
    );
}

#[test]
fn hidden_dot_files_and_case_collisions() {
    let options = VolumeOptions {
        hide_dotfiles: true,
        ..VolumeOptions::default()
    };
    let t = TestVolume::with_options("hidden", &[], tree, options);
    assert_ne!(attributes(&t, "\\.hidden") & fsd::attributes::HIDDEN, 0);
    assert_eq!(attributes(&t, "\\Name") & fsd::attributes::HIDDEN, 0);
    // Exact names first; otherwise the smallest of the names that differ
    // only by case ("Name" < "name" bytewise).
    let read_name = |name: &str| {
        let mut c = t.create(name, FILE_OPEN, 0, GENERIC_READ, 7).unwrap().ccb;
        let mut buf = [0u8; 8];
        let n = fsd::read::read(t.vol(), &mut c, Some(0), &mut buf).information as usize;
        t.close(c);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(read_name("\\name"), "lower");
    assert_eq!(read_name("\\Name"), "upper");
    assert_eq!(read_name("\\NAME"), "upper");
    assert_eq!(read_name("\\nAmE"), "upper");
}

/// The changes recorded since the last call: directory, name, action.
fn changes(vol: &fsd::Volume) -> Vec<(Vec<u8>, String, Action)> {
    vol.take_changes()
        .into_iter()
        .map(|c| (c.dir, String::from_utf16_lossy(&c.name), c.action))
        .collect()
}

#[test]
fn changes_are_recorded_for_notifications() {
    let t = TestVolume::new("changes", &[], tree);
    let vol = t.vol();
    assert!(vol.take_changes().is_empty());
    let mut c = t
        .create("\\d\\new", FILE_CREATE, 0, GENERIC_WRITE | DELETE, 0)
        .unwrap()
        .ccb;
    fsd::write::write(vol, &mut c, fsd::write::WriteAt::Offset(0), b"data");
    let target = w("\\d\\renamed");
    let rename = rename_request(target, 0);
    assert_eq!(
        fsd::fileinfo::set(vol, &mut c, &rename, None).status,
        NtStatus::SUCCESS
    );
    let delete = fsd::fileinfo::SetRequest::Disposition(fsd::fileinfo::FILE_DISPOSITION_DELETE);
    assert_eq!(
        fsd::fileinfo::set(vol, &mut c, &delete, None).status,
        NtStatus::SUCCESS
    );
    t.close(c);
    let d = format!("{}/d", vol.root()).into_bytes();
    let got = changes(vol);
    assert_eq!(
        got,
        [
            (d.clone(), "new".to_string(), Action::Added),
            (d.clone(), "new".to_string(), Action::RenamedOldName),
            (d.clone(), "renamed".to_string(), Action::RenamedNewName),
            (d.clone(), "renamed".to_string(), Action::Modified),
            (d.clone(), "renamed".to_string(), Action::Removed),
        ]
    );
    assert!(vol.take_changes().is_empty(), "taken once");
}

/// A file written through one open and moved by another: the change is
/// recorded where the file is when the writer's handle is closed.
#[test]
fn a_moved_files_change_is_recorded_where_it_is() {
    let t = TestVolume::new("changes-moved", &[], tree);
    let vol = t.vol();
    let mut writer = t.open("\\name");
    fsd::write::write(vol, &mut writer, fsd::write::WriteAt::Offset(0), b"more");
    let mut mover = t.open("\\name");
    let rename = rename_request(w("\\d\\moved"), 0);
    assert_eq!(
        fsd::fileinfo::set(vol, &mut mover, &rename, None).status,
        NtStatus::SUCCESS
    );
    t.close(mover);
    vol.take_changes();
    t.close(writer);
    let d = format!("{}/d", vol.root()).into_bytes();
    let got = changes(vol);
    assert_eq!(got, [(d, "moved".to_string(), Action::Modified)]);
}

/// An ext4 image whose inode `/victim` fails its checksum (set wrong by
/// debugfs), made with `mkfs_args`, mounted with `options`.
fn damaged(name: &str, mkfs_args: &[&str], options: fsd::VolumeOptions) -> TestVolume {
    let mut args = vec!["-O", "metadata_csum"];
    args.extend_from_slice(mkfs_args);
    TestVolume::prepared(
        name,
        &args,
        |root| {
            std::fs::write(root.join("victim"), b"lost").unwrap();
            std::fs::write(root.join("fine"), b"kept").unwrap();
        },
        |image| {
            let img = image.display().to_string();
            run(
                "debugfs",
                &["-w", "-R", "sif /victim checksum 0xdead", &img],
            );
        },
        options,
    )
}

fn open_for_read(t: &TestVolume, name: &str) -> Result<fsd::create::Created, fsd::NtStatus> {
    t.create(
        name,
        fsd::create::FILE_OPEN,
        0,
        fsd::access::GENERIC_READ,
        fsd::access::FILE_SHARE_READ,
    )
}

/// On a read-only volume, a damaged inode is STATUS_FILE_CORRUPT_ERROR and
/// the rest of the volume still reads.
#[test]
fn a_damaged_inode_is_file_corrupt_error() {
    let options = fsd::VolumeOptions {
        read_only: true,
        ..Default::default()
    };
    let t = damaged("corrupt-ro", &[], options);
    assert_eq!(
        open_for_read(&t, "\\victim").err(),
        Some(fsd::NtStatus::FILE_CORRUPT_ERROR)
    );
    let fine = open_for_read(&t, "\\fine").expect("an undamaged file opens");
    t.close(fine.ccb);
}

/// On a writable volume, the first damage Linux finds stops the file
/// system (errors=remount-ro, which Linux 6.12's ext4 carries out as a
/// shutdown: reads fail too), so nothing more is written to it; even a
/// superblock that asks for a panic on errors (mkfs.ext4 -e panic) does
/// not take Linux down, and the next volume mounts.
#[test]
fn a_damaged_writable_volume_stops_and_linux_lives() {
    let t = damaged("corrupt-panic", &["-e", "panic"], Default::default());
    assert!(t
        .debugfs("stats")
        .contains("Errors behavior:          Panic"));
    assert_eq!(
        open_for_read(&t, "\\victim").err(),
        Some(fsd::NtStatus::FILE_CORRUPT_ERROR)
    );
    let created = t.create(
        "\\new",
        fsd::create::FILE_CREATE,
        0,
        fsd::access::GENERIC_WRITE,
        0,
    );
    assert!(created.is_err(), "a stopped file system takes no new file");
    assert!(lkl::sys::getpid().is_ok(), "Linux is alive");
    drop(t);
    let next = TestVolume::new("after-panic", &[], |root| {
        std::fs::write(root.join("f"), b"x").unwrap();
    });
    let f = open_for_read(&next, "\\f").expect("the next volume works");
    next.close(f.ccb);
    assert!(!String::from_utf8_lossy(&lkl::console_output()).contains("Kernel panic"));
}
