//! A Windows program saving a document, through the fsd core (the way
//! Word saves: the new version written to a temporary file and flushed,
//! the original renamed to a backup name, the temporary file renamed to
//! the document's name, the backup deleted, the folder flushed), recorded
//! on ext4, and every crash state checked: the document (or, between the
//! renames, its backup) is the old or the new version, whole; after the
//! final flush only the new one is there; e2fsck -fn finds nothing.
mod common;

use common::{check_states, limits, pattern, record_with, scratch, Fs, Promise, Run};
use fsd::access::{DELETE, GENERIC_READ, GENERIC_WRITE};
use fsd::create::{self, CreateRequest, FILE_CREATE, FILE_NON_DIRECTORY_FILE, FILE_OPEN};
use fsd::fileinfo::{self, SetRequest, FILE_DISPOSITION_DELETE, FILE_RENAME_REPLACE_IF_EXISTS};
use fsd::write::WriteAt;
use fsd::{Ccb, NtStatus, Volume, VolumeOptions};

/// ext4, named for this test's scratch directory.
const EXT4: Fs = Fs {
    name: "ext4-fsd",
    ..common::EXT4
};

fn w(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn open(vol: &Volume, name: &str, disposition: u32, access: u32) -> Ccb {
    let name = w(name);
    create::create(
        vol,
        &CreateRequest {
            related: None,
            name: &name,
            disposition,
            options: if name.len() > 1 {
                FILE_NON_DIRECTORY_FILE
            } else {
                0
            },
            desired_access: access,
            share_access: 0,
            file_attributes: 0,
            caller: None,
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf16_lossy(&name)))
    .ccb
}

fn close(vol: &Volume, mut ccb: Ccb) {
    fsd::cleanup::cleanup(vol, &mut ccb);
    fsd::close::close(vol, ccb);
}

fn ok(c: fsd::Completion) {
    assert_eq!(c.status, NtStatus::SUCCESS);
}

/// A new file `name` holding `data`, flushed (FlushFileBuffers).
fn write_flushed(vol: &Volume, name: &str, data: &[u8]) {
    let mut f = open(vol, name, FILE_CREATE, GENERIC_WRITE);
    ok(fsd::write::write(vol, &mut f, WriteAt::Offset(0), data));
    ok(fsd::flush::flush(vol, &f));
    close(vol, f);
}

/// FlushFileBuffers on the folder (the volume root).
fn flush_folder(vol: &Volume) {
    let root = open(vol, "\\", FILE_OPEN, GENERIC_READ);
    ok(fsd::flush::flush(vol, &root));
    close(vol, root);
}

fn rename(vol: &Volume, from: &str, to: &str) {
    let mut f = open(vol, from, FILE_OPEN, DELETE);
    let req = SetRequest::Rename {
        flags: FILE_RENAME_REPLACE_IF_EXISTS,
        root_directory: 0,
        name: w(to),
    };
    ok(fileinfo::set(vol, &mut f, &req, None));
    close(vol, f);
}

fn save(run: &Run, vol: &Volume) {
    let old = pattern(70, 1, 30_000);
    let new = pattern(70, 2, 26_000);
    run.wrote("report.docx", &old);
    write_flushed(vol, "\\report.docx", &old);
    flush_folder(vol);
    run.promise(Promise::File("report.docx".into(), old.clone()));

    run.wrote("~WRL0001.tmp", &new);
    write_flushed(vol, "\\~WRL0001.tmp", &new);
    // From the first rename on: the document or its backup is there, the
    // old version or the new, whole.
    run.wrote("~WRL0002.tmp", &old);
    run.wrote("report.docx", &new);
    run.promise(Promise::AnyOf(vec![
        ("report.docx".into(), vec![old.clone(), new.clone()]),
        ("~WRL0002.tmp".into(), vec![old.clone()]),
    ]));
    rename(vol, "\\report.docx", "\\~WRL0002.tmp");
    rename(vol, "\\~WRL0001.tmp", "\\report.docx");
    let mut backup = open(vol, "\\~WRL0002.tmp", FILE_OPEN, DELETE);
    ok(fileinfo::set(
        vol,
        &mut backup,
        &SetRequest::Disposition(FILE_DISPOSITION_DELETE),
        None,
    ));
    close(vol, backup);
    flush_folder(vol);
    run.promise(Promise::File("report.docx".into(), new));
    run.promise(Promise::Absent("~WRL0001.tmp".into()));
    run.promise(Promise::Absent("~WRL0002.tmp".into()));
}

#[test]
fn a_windows_save_survives_every_crash() {
    let dir = scratch("fsd-save");
    let (base, run, log) = record_with(
        &EXT4,
        &dir,
        |added| {
            let vol = Volume::mount(added, &VolumeOptions::default()).expect("mount");
            (vol.root().to_string(), vol)
        },
        |vol| vol.dismount().expect("dismount"),
        save,
    );
    let checked = check_states(&EXT4, &dir, &base, &run, &log, limits(64, 3000));
    let _ = std::fs::remove_dir_all(&dir);
    checked.assert_clean(40);
}
