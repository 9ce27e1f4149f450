//! Permissions: what the security descriptor the core reports for a file
//! (owner, group and Everyone ACEs from its mode) grants a caller whose
//! SIDs map to a uid and gids, checked at open; an unmapped caller gets
//! the "other" bits, root everything, and a volume that ignores
//! permissions (no caller) today's root's view. Owners and modes are set
//! with debugfs; what a mapped caller makes is theirs (debugfs reads it).
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::permissions::Caller;
use fsd::NtStatus;

fn tree(root: &std::path::Path) {
    for f in ["mine", "group", "public", "locked"] {
        std::fs::write(root.join(f), b"data").unwrap();
    }
    for d in ["shared", "closed"] {
        std::fs::create_dir(root.join(d)).unwrap();
        std::fs::write(root.join(d).join("x"), b"x").unwrap();
    }
}

/// Owners and modes, as debugfs sets them: (path, uid, gid, mode).
const OWNERS: &[(&str, u32, u32, u32)] = &[
    ("/mine", 1000, 100, 0o100600),
    ("/group", 2000, 100, 0o100640),
    ("/public", 2000, 2000, 0o100644),
    ("/locked", 2000, 2000, 0o100000),
    ("/shared", 2000, 100, 0o40775),
    ("/shared/x", 2000, 2000, 0o100644),
    ("/closed", 2000, 2000, 0o40755),
    ("/closed/x", 2000, 2000, 0o100644),
];

fn volume(name: &str) -> TestVolume {
    TestVolume::prepared(
        name,
        &[],
        tree,
        |image| {
            let img = image.display().to_string();
            for (path, uid, gid, mode) in OWNERS {
                for req in [
                    format!("sif {path} uid {uid}"),
                    format!("sif {path} gid {gid}"),
                    format!("sif {path} mode 0{mode:o}"),
                ] {
                    run("debugfs", &["-w", "-R", &req, &img]);
                }
            }
        },
        fsd::VolumeOptions::default(),
    )
}

/// Whether `caller` may open `name` with `access`; a granted open closed.
fn may(t: &TestVolume, caller: Option<&Caller>, name: &str, access: u32) -> bool {
    match t.create_as(caller, name, FILE_OPEN, 0, access, 7) {
        Ok(c) => {
            t.close(c.ccb);
            true
        }
        Err(NtStatus::ACCESS_DENIED) => false,
        Err(e) => panic!("{name}: {e:?}"),
    }
}

#[test]
fn an_unmapped_caller_gets_the_other_bits() {
    let t = volume("perm-unmapped");
    let nobody = Caller::default();
    let n = Some(&nobody);
    assert!(may(&t, n, "\\public", GENERIC_READ));
    assert!(!may(&t, n, "\\public", GENERIC_WRITE));
    assert!(!may(&t, n, "\\mine", GENERIC_READ));
    assert!(!may(&t, n, "\\group", GENERIC_READ));
    assert!(!may(&t, n, "\\public", WRITE_DAC));
    assert!(!may(&t, n, "\\shared\\x", DELETE));
    // MAXIMUM_ALLOWED narrows to what Everyone has.
    let c = t
        .create_as(n, "\\public", FILE_OPEN, 0, MAXIMUM_ALLOWED, 7)
        .unwrap()
        .ccb;
    t.close(c);
    // Nothing is made where Everyone may not write.
    for (name, disposition) in [("\\new", FILE_CREATE), ("\\closed\\new", FILE_OPEN_IF)] {
        assert_eq!(
            t.create_as(n, name, disposition, 0, GENERIC_WRITE, 7).err(),
            Some(NtStatus::ACCESS_DENIED),
            "{name}"
        );
    }
}

#[test]
fn owners_groups_and_root() {
    let mut t = volume("perm-mapped");
    let owner = Caller {
        uid: Some(1000),
        gids: vec![],
    };
    let member = Caller {
        uid: Some(3000),
        gids: vec![100],
    };
    let root = Caller {
        uid: Some(0),
        gids: vec![],
    };
    let (o, m, r) = (Some(&owner), Some(&member), Some(&root));
    assert!(may(
        &t,
        o,
        "\\mine",
        GENERIC_READ | GENERIC_WRITE | WRITE_DAC
    ));
    assert!(!may(&t, o, "\\group", GENERIC_READ));
    assert!(may(&t, m, "\\group", GENERIC_READ));
    assert!(!may(&t, m, "\\group", GENERIC_WRITE));
    assert!(!may(&t, m, "\\mine", GENERIC_READ));
    // DELETE of another's file where the directory lets the group write.
    assert!(may(&t, m, "\\shared\\x", DELETE));
    assert!(!may(&t, m, "\\closed\\x", DELETE));
    for name in ["\\mine", "\\group"] {
        assert!(may(&t, r, name, GENERIC_ALL), "root: {name}");
    }
    // Mode 0000 reads for root; no write bit is FILE_ATTRIBUTE_READONLY,
    // which holds for everyone, as on Windows.
    assert!(may(&t, r, "\\locked", GENERIC_READ));
    assert!(!may(&t, r, "\\locked", GENERIC_WRITE));
    // A member makes a file in the group's directory: it is theirs.
    let c = t
        .create_as(m, "\\shared\\made", FILE_CREATE, 0, GENERIC_WRITE, 7)
        .unwrap()
        .ccb;
    t.close(c);
    // No caller (a volume that ignores permissions): root's view.
    assert!(may(&t, None, "\\locked", GENERIC_READ));
    t.finish();
    let stat = t.debugfs("stat /shared/made");
    assert!(stat.contains("User:  3000   Group:   100"), "{stat}");
}
