//! Several threads on the same files through separate opens: share
//! access, writes to disjoint ranges and creates in one directory at once.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::read::read;
use fsd::write::{write, WriteAt};
use fsd::{NtStatus, Volume};

fn tree(root: &std::path::Path) {
    std::fs::write(root.join("shared"), vec![0u8; 8 * 4096]).unwrap();
    std::fs::create_dir(root.join("d")).unwrap();
}

fn open(
    vol: &Volume,
    name: &str,
    disposition: u32,
    access: u32,
    share: u32,
) -> Result<fsd::Ccb, NtStatus> {
    let name = w(name);
    create(
        vol,
        &CreateRequest {
            related: None,
            name: &name,
            disposition,
            options: 0,
            desired_access: access,
            share_access: share,
            file_attributes: 0,
        },
    )
    .map(|c| c.ccb)
}

const ROUNDS: u8 = 20;

#[test]
fn threads_on_the_same_files() {
    let mut t = TestVolume::new("threads", &[], tree);
    let vol = t.vol();
    std::thread::scope(|s| {
        for i in 0..8u8 {
            s.spawn(move || {
                for round in 0..ROUNDS {
                    let share = FILE_SHARE_READ | FILE_SHARE_WRITE;
                    let mut c = open(
                        vol,
                        "\\shared",
                        FILE_OPEN,
                        GENERIC_READ | GENERIC_WRITE,
                        share,
                    )
                    .unwrap();
                    let data = [i.wrapping_mul(31).wrapping_add(round); 4096];
                    let at = i as u64 * 4096;
                    assert_eq!(
                        write(vol, &mut c, WriteAt::Offset(at), &data).status,
                        NtStatus::SUCCESS
                    );
                    let mut back = [0u8; 4096];
                    assert_eq!(read(vol, &mut c, Some(at), &mut back).information, 4096);
                    assert_eq!(back, data);
                    // Nobody may take the file exclusively meanwhile.
                    assert_eq!(
                        open(vol, "\\shared", FILE_OPEN, GENERIC_WRITE, 0).err(),
                        Some(NtStatus::SHARING_VIOLATION)
                    );
                    let made = open(
                        vol,
                        &format!("\\d\\t{i}-{round}"),
                        FILE_CREATE,
                        GENERIC_WRITE,
                        0,
                    )
                    .unwrap();
                    fsd::close::close(vol, made);
                    fsd::close::close(vol, c);
                }
            });
        }
    });
    // Every open was released: an exclusive one succeeds now.
    let c = open(vol, "\\shared", FILE_OPEN, GENERIC_WRITE, 0).unwrap();
    fsd::close::close(vol, c);
    t.finish();
    let listing = t.debugfs("ls /d");
    for i in 0..8 {
        for round in 0..ROUNDS {
            assert!(
                listing.contains(&format!("t{i}-{round} "))
                    || listing.contains(&format!("t{i}-{round}\n")),
                "t{i}-{round} missing"
            );
        }
    }
    let dumped = t.dir.join("shared.dump");
    t.debugfs(&format!("dump /shared {}", dumped.display()));
    let bytes = std::fs::read(dumped).unwrap();
    for i in 0..8u8 {
        let expected = i.wrapping_mul(31).wrapping_add(ROUNDS - 1);
        assert!(bytes[i as usize * 4096..(i as usize + 1) * 4096]
            .iter()
            .all(|&b| b == expected));
    }
}
