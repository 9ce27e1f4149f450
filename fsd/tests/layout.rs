//! The layouts the core writes, checked against an independent reference:
//! mingw-w64's DDK headers. Each check first finds the expected value at
//! the offset in what the core wrote, then has x86_64-w64-mingw32-gcc
//! confirm (at compile time) that the header puts that field there.
mod common;

use std::fmt::Write as _;
use std::process::Command;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::dirctrl::{self, QueryDirectory};
use fsd::{fileinfo, fsctl, volinfo};

const SIZE: u64 = 0x12345;

fn tree(root: &std::path::Path) {
    std::fs::write(root.join("layout.bin"), vec![1u8; SIZE as usize]).unwrap();
    std::os::unix::fs::symlink("layout.bin", root.join("link")).unwrap();
}

struct Checks {
    c: String,
}

impl Checks {
    /// `value` sits at `offset` in `buf`, and the header agrees.
    fn field(&mut self, buf: &[u8], strukt: &str, field: &str, offset: usize, value: &[u8]) {
        assert_eq!(
            &buf[offset..offset + value.len()],
            value,
            "{strukt}.{field} at {offset}"
        );
        writeln!(
            self.c,
            "_Static_assert(offsetof({strukt}, {field}) == {offset}, \"{strukt}.{field}\");"
        )
        .unwrap();
    }

    fn size(&mut self, strukt: &str, size: u64) {
        writeln!(
            self.c,
            "_Static_assert(sizeof({strukt}) == {size}, \"sizeof {strukt}\");"
        )
        .unwrap();
    }
}

fn le32(v: u32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn le64(v: u64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect()
}

#[test]
fn layouts_match_mingw_headers() {
    let t = TestVolume::new("layout", &[], tree);
    let vol = t.vol();
    let mut k = Checks {
        c: String::from("#include <ntifs.h>\n#include <stddef.h>\n"),
    };
    let file = t
        .create("\\layout.bin", FILE_OPEN, 0, GENERIC_READ, 7)
        .unwrap()
        .ccb;
    let ino = {
        let mut b = [0u8; 8];
        fileinfo::query(vol, &file, fileinfo::FILE_INTERNAL_INFORMATION, &mut b);
        u64::from_le_bytes(b)
    };
    let name = utf16("layout.bin");

    let mut root = t
        .create("\\", FILE_OPEN, FILE_DIRECTORY_FILE, GENERIC_READ, 7)
        .unwrap()
        .ccb;
    for (class, strukt, name_at, id_at) in [
        (
            dirctrl::FILE_DIRECTORY_INFORMATION,
            "FILE_DIRECTORY_INFORMATION",
            64,
            None,
        ),
        (
            dirctrl::FILE_FULL_DIRECTORY_INFORMATION,
            "FILE_FULL_DIR_INFORMATION",
            68,
            None,
        ),
        (
            dirctrl::FILE_BOTH_DIRECTORY_INFORMATION,
            "FILE_BOTH_DIR_INFORMATION",
            94,
            None,
        ),
        (
            dirctrl::FILE_NAMES_INFORMATION,
            "FILE_NAMES_INFORMATION",
            12,
            None,
        ),
        (
            dirctrl::FILE_ID_BOTH_DIRECTORY_INFORMATION,
            "FILE_ID_BOTH_DIR_INFORMATION",
            104,
            Some(96),
        ),
        (
            dirctrl::FILE_ID_FULL_DIRECTORY_INFORMATION,
            "FILE_ID_FULL_DIR_INFORMATION",
            80,
            Some(72),
        ),
    ] {
        let mut buf = vec![0u8; 1024];
        let pattern = w("layout.bin");
        let req = QueryDirectory {
            class,
            pattern: Some(&pattern),
            restart_scan: true,
            return_single_entry: true,
            index: None,
        };
        let r = dirctrl::query_directory(vol, &mut root, &req, &mut buf);
        assert_eq!(r.information as usize, name_at + name.len(), "{strukt}");
        k.field(&buf, strukt, "FileName", name_at, &name);
        if class == dirctrl::FILE_NAMES_INFORMATION {
            k.field(&buf, strukt, "FileNameLength", 8, &le32(20));
            continue;
        }
        k.field(&buf, strukt, "EndOfFile", 40, &le64(SIZE));
        k.field(
            &buf,
            strukt,
            "FileAttributes",
            56,
            &le32(fsd::attributes::ARCHIVE),
        );
        k.field(&buf, strukt, "FileNameLength", 60, &le32(20));
        if let Some(at) = id_at {
            k.field(&buf, strukt, "FileId", at, &le64(ino));
        }
    }
    t.close(root);

    let q = |class: u32| {
        let mut buf = vec![0u8; 512];
        let r = fileinfo::query(vol, &file, class, &mut buf);
        buf.truncate(r.information as usize);
        buf
    };
    let basic = q(fileinfo::FILE_BASIC_INFORMATION);
    k.size("FILE_BASIC_INFORMATION", basic.len() as u64);
    k.field(
        &basic,
        "FILE_BASIC_INFORMATION",
        "FileAttributes",
        32,
        &le32(fsd::attributes::ARCHIVE),
    );
    let standard = q(fileinfo::FILE_STANDARD_INFORMATION);
    k.size("FILE_STANDARD_INFORMATION", standard.len() as u64);
    k.field(
        &standard,
        "FILE_STANDARD_INFORMATION",
        "EndOfFile",
        8,
        &le64(SIZE),
    );
    k.field(
        &standard,
        "FILE_STANDARD_INFORMATION",
        "NumberOfLinks",
        16,
        &le32(1),
    );
    let all = q(fileinfo::FILE_ALL_INFORMATION);
    k.field(
        &all,
        "FILE_ALL_INFORMATION",
        "StandardInformation.EndOfFile",
        48,
        &le64(SIZE),
    );
    k.field(
        &all,
        "FILE_ALL_INFORMATION",
        "InternalInformation.IndexNumber",
        64,
        &le64(ino),
    );
    k.field(
        &all,
        "FILE_ALL_INFORMATION",
        "NameInformation.FileNameLength",
        96,
        &le32(22),
    );
    k.field(
        &all,
        "FILE_ALL_INFORMATION",
        "NameInformation.FileName",
        100,
        &utf16("\\layout.bin"),
    );
    let net = q(fileinfo::FILE_NETWORK_OPEN_INFORMATION);
    k.size("FILE_NETWORK_OPEN_INFORMATION", net.len() as u64);
    k.field(
        &net,
        "FILE_NETWORK_OPEN_INFORMATION",
        "EndOfFile",
        40,
        &le64(SIZE),
    );
    k.field(
        &net,
        "FILE_NETWORK_OPEN_INFORMATION",
        "FileAttributes",
        48,
        &le32(fsd::attributes::ARCHIVE),
    );
    let stream = q(fileinfo::FILE_STREAM_INFORMATION);
    k.field(
        &stream,
        "FILE_STREAM_INFORMATION",
        "StreamSize",
        8,
        &le64(SIZE),
    );
    k.field(
        &stream,
        "FILE_STREAM_INFORMATION",
        "StreamName",
        24,
        &utf16("::$DATA"),
    );
    t.close(file);

    let link = t
        .create(
            "\\link",
            FILE_OPEN,
            FILE_OPEN_REPARSE_POINT,
            FILE_READ_ATTRIBUTES,
            7,
        )
        .unwrap()
        .ccb;
    let mut tag = [0u8; 8];
    fileinfo::query(
        vol,
        &link,
        fileinfo::FILE_ATTRIBUTE_TAG_INFORMATION,
        &mut tag,
    );
    k.size("FILE_ATTRIBUTE_TAG_INFORMATION", 8);
    k.field(
        &tag,
        "FILE_ATTRIBUTE_TAG_INFORMATION",
        "ReparseTag",
        4,
        &le32(fsd::attributes::IO_REPARSE_TAG_SYMLINK),
    );
    let mut reparse = vec![0u8; 256];
    fsctl::get_reparse_point(vol, &link, &mut reparse);
    let rdb = "REPARSE_DATA_BUFFER";
    k.field(
        &reparse,
        rdb,
        "SymbolicLinkReparseBuffer.SubstituteNameLength",
        10,
        &20u16.to_le_bytes(),
    );
    k.field(
        &reparse,
        rdb,
        "SymbolicLinkReparseBuffer.Flags",
        16,
        &le32(fsctl::SYMLINK_FLAG_RELATIVE),
    );
    k.field(
        &reparse,
        rdb,
        "SymbolicLinkReparseBuffer.PathBuffer",
        20,
        &name,
    );
    t.close(link);

    let v = |class: u32| {
        let mut buf = vec![0u8; 256];
        let r = volinfo::query(vol, class, &mut buf);
        buf.truncate(r.information as usize);
        buf
    };
    let attr = v(volinfo::FILE_FS_ATTRIBUTE_INFORMATION);
    k.field(
        &attr,
        "FILE_FS_ATTRIBUTE_INFORMATION",
        "FileSystemNameLength",
        8,
        &le32(8),
    );
    k.field(
        &attr,
        "FILE_FS_ATTRIBUTE_INFORMATION",
        "FileSystemName",
        12,
        &utf16("ext4"),
    );
    let full = v(volinfo::FILE_FS_FULL_SIZE_INFORMATION);
    k.size("FILE_FS_FULL_SIZE_INFORMATION", full.len() as u64);
    k.field(
        &full,
        "FILE_FS_FULL_SIZE_INFORMATION",
        "BytesPerSector",
        28,
        &le32(512),
    );
    let size = v(volinfo::FILE_FS_SIZE_INFORMATION);
    k.size("FILE_FS_SIZE_INFORMATION", size.len() as u64);
    k.field(
        &size,
        "FILE_FS_SIZE_INFORMATION",
        "BytesPerSector",
        20,
        &le32(512),
    );
    let volume = v(volinfo::FILE_FS_VOLUME_INFORMATION);
    k.field(
        &volume,
        "FILE_FS_VOLUME_INFORMATION",
        "VolumeLabelLength",
        12,
        &le32(0),
    );
    writeln!(
        k.c,
        "_Static_assert(offsetof(FILE_FS_VOLUME_INFORMATION, VolumeLabel) == {}, \"label\");",
        volume.len()
    )
    .unwrap();

    let source = t.dir.join("layout.c");
    std::fs::write(&source, &k.c).unwrap();
    let out = Command::new("x86_64-w64-mingw32-gcc")
        .args(["-fsyntax-only", "-I/usr/x86_64-w64-mingw32/include/ddk"])
        .arg(&source)
        .output()
        .expect("x86_64-w64-mingw32-gcc (package gcc-mingw-w64-x86-64-win32)");
    assert!(
        out.status.success(),
        "mingw-w64 headers disagree:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        k.c
    );
}
