//! A long random sequence of creates (every disposition), writes, reads,
//! truncations, renames, deletes and closes on a few names, each answer
//! checked against a model of NTFS's rules (which the Windows CI checks
//! by running the same sequence on NTFS), then the directory's names and
//! contents compared with the model's.
use std::collections::BTreeMap;

use fsd::create::*;
use fsd::fileinfo::{
    FILE_DISPOSITION_INFORMATION, FILE_END_OF_FILE_INFORMATION, FILE_RENAME_INFORMATION,
    FILE_STANDARD_INFORMATION,
};
use fsd::NtStatus;

use crate::bytes::{rename_info, u64_at};
use crate::files::{contents, make_dir, open};
use crate::{Dir, Drive, Outcome};

/// splitmix64: the sequence is the seed's alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A file of the model.
#[derive(Default)]
struct File {
    data: Vec<u8>,
    handles: usize,
    delete_pending: bool,
}

/// NTFS's view: names to files, and what each open handle is of.
#[derive(Default)]
struct Model {
    names: BTreeMap<String, usize>,
    files: Vec<File>,
}

impl Model {
    fn name_of(&self, id: usize) -> Option<&String> {
        self.names.iter().find(|(_, &f)| f == id).map(|(n, _)| n)
    }

    /// A handle of file `id` goes: the file goes with its last handle if
    /// it is marked for deletion.
    fn closed(&mut self, id: usize) {
        let file = &mut self.files[id];
        file.handles -= 1;
        if file.handles == 0 && file.delete_pending {
            self.names.retain(|_, f| *f != id);
        }
    }
}

const NAMES: [&str; 6] = ["n0", "n1", "n2", "n3", "sub\\n4", "sub\\n5"];
const DISPOSITIONS: [u32; 6] = [
    FILE_SUPERSEDE,
    FILE_OPEN,
    FILE_CREATE,
    FILE_OPEN_IF,
    FILE_OVERWRITE,
    FILE_OVERWRITE_IF,
];

pub fn random_sequence<D: Drive>(d: &D, t: &Dir) -> Outcome {
    make_dir(d, &t.path("sub"));
    let mut rng = Rng(t.seed);
    let mut model = Model::default();
    let mut handles: Vec<(D::Handle, usize)> = Vec::new();
    for step in 0..t.steps {
        let at = |what: String| format!("step {step} (seed {}): {what}", t.seed);
        let roll = rng.below(100);
        if handles.is_empty() || (roll < 30 && handles.len() < 6) {
            let name = NAMES[rng.below(NAMES.len())];
            let disposition = DISPOSITIONS[rng.below(DISPOSITIONS.len())];
            let expected = match model.names.get(name).copied() {
                None if matches!(disposition, FILE_OPEN | FILE_OVERWRITE) => {
                    Err(NtStatus::OBJECT_NAME_NOT_FOUND)
                }
                None => Ok(FILE_CREATED),
                // The name exists, pending deletion or not.
                Some(_) if disposition == FILE_CREATE => Err(NtStatus::OBJECT_NAME_COLLISION),
                Some(id) if model.files[id].delete_pending => Err(NtStatus::DELETE_PENDING),
                Some(_) => match disposition {
                    FILE_OPEN | FILE_OPEN_IF => Ok(FILE_OPENED),
                    FILE_SUPERSEDE => Ok(FILE_SUPERSEDED),
                    _ => Ok(FILE_OVERWRITTEN),
                },
            };
            let got = open(d, &t.path(name), disposition, FILE_NON_DIRECTORY_FILE);
            let what = at(format!("create {name} with disposition {disposition}"));
            assert_eq!(got.as_ref().err(), expected.as_ref().err(), "{what}");
            if let (Ok((h, info)), Ok(expected_info)) = (got, expected) {
                assert_eq!(info, expected_info, "{what}");
                let id = match model.names.get(name) {
                    Some(&id) => id,
                    None => {
                        model.files.push(File::default());
                        model.names.insert(name.to_string(), model.files.len() - 1);
                        model.files.len() - 1
                    }
                };
                if info != FILE_OPENED {
                    model.files[id].data.clear();
                }
                model.files[id].handles += 1;
                handles.push((h, id));
            }
            continue;
        }
        let which = rng.below(handles.len());
        if roll >= 90 {
            let (h, id) = handles.swap_remove(which);
            d.close(h);
            model.closed(id);
            continue;
        }
        let id = handles[which].1;
        let h = &mut handles[which].0;
        match roll {
            30..=49 => {
                let offset = rng.below(6000);
                let data: Vec<u8> = (0..1 + rng.below(2500)).map(|_| rng.next() as u8).collect();
                let c = d.write(h, Some(offset as u64), &data);
                let what = at(format!("write {} bytes at {offset}", data.len()));
                assert_eq!(c.status, NtStatus::SUCCESS, "{what}");
                assert_eq!(c.information, data.len() as u64, "{what}");
                let file = &mut model.files[id].data;
                if file.len() < offset + data.len() {
                    file.resize(offset + data.len(), 0);
                }
                file[offset..offset + data.len()].copy_from_slice(&data);
            }
            50..=64 => {
                let offset = rng.below(8000);
                let mut buf = vec![0u8; 1 + rng.below(3000)];
                let c = d.read(h, offset as u64, &mut buf);
                let what = at(format!("read {} bytes at {offset}", buf.len()));
                let file = &model.files[id].data;
                if offset >= file.len() {
                    assert_eq!(c.status, NtStatus::END_OF_FILE, "{what}");
                } else {
                    let n = buf.len().min(file.len() - offset);
                    assert_eq!(c.status, NtStatus::SUCCESS, "{what}");
                    assert_eq!(c.information, n as u64, "{what}");
                    let differ = (0..n).find(|&i| buf[i] != file[offset + i]);
                    assert_eq!(
                        differ,
                        None,
                        "{what}: the first byte that differs (of {} in the file)",
                        file.len()
                    );
                }
            }
            65..=69 => {
                let end = rng.below(6000);
                let c =
                    d.set_information(h, FILE_END_OF_FILE_INFORMATION, &(end as u64).to_le_bytes());
                assert_eq!(
                    c.status,
                    NtStatus::SUCCESS,
                    "{}",
                    at(format!("end of file {end}"))
                );
                model.files[id].data.resize(end, 0);
            }
            70..=74 => {
                let mut standard = [0u8; 24];
                let c = d.query_information(h, FILE_STANDARD_INFORMATION, &mut standard);
                let what = at("FileStandardInformation".into());
                assert_eq!(c.status, NtStatus::SUCCESS, "{what}");
                let file = &model.files[id];
                assert_eq!(u64_at(&standard, 8), file.data.len() as u64, "{what}: size");
                assert_eq!(
                    standard[20] != 0,
                    file.delete_pending,
                    "{what}: DeletePending"
                );
            }
            75..=84 if !model.files[id].delete_pending => {
                let from = model.name_of(id).expect("a named file").clone();
                let to = NAMES[rng.below(NAMES.len())];
                if to == from {
                    continue;
                }
                let replace = rng.below(2) == 0;
                let expected = match model.names.get(to).copied() {
                    None => NtStatus::SUCCESS,
                    Some(_) if !replace => NtStatus::OBJECT_NAME_COLLISION,
                    Some(other) if model.files[other].handles > 0 => NtStatus::ACCESS_DENIED,
                    Some(_) => NtStatus::SUCCESS,
                };
                let c = d.set_information(
                    h,
                    FILE_RENAME_INFORMATION,
                    &rename_info(replace, &t.path(to)),
                );
                let what = at(format!("rename {from} to {to} (replace: {replace})"));
                assert_eq!(c.status, expected, "{what}");
                if expected == NtStatus::SUCCESS {
                    model.names.remove(&from);
                    model.names.insert(to.to_string(), id);
                }
            }
            _ => {
                let delete = rng.below(4) != 0;
                let c = d.set_information(h, FILE_DISPOSITION_INFORMATION, &[delete as u8]);
                let what = at(format!("disposition {delete}"));
                assert_eq!(c.status, NtStatus::SUCCESS, "{what}");
                model.files[id].delete_pending = delete;
            }
        }
    }
    for (h, id) in handles.drain(..) {
        d.close(h);
        model.closed(id);
    }
    for name in NAMES {
        match model.names.get(name) {
            Some(&id) => assert!(
                contents(d, &t.path(name)) == model.files[id].data,
                "{name} at the end: other contents"
            ),
            None => assert_eq!(
                open(d, &t.path(name), FILE_OPEN, 0).err(),
                Some(NtStatus::OBJECT_NAME_NOT_FOUND),
                "{name} at the end"
            ),
        }
    }
    Ok(())
}
