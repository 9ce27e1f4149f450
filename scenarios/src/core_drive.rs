//! The suite on the fsd core in-process: a Linux image (or one of its
//! partitions) added as a disk of the kernel linked into this program and
//! mounted as an fsd `Volume`, each request a call into the core.
use std::path::Path;
use std::sync::Arc;

use fsd::create::{self, CreateRequest};
use fsd::dirctrl::{self, QueryDirectory};
use fsd::ea::{self, QueryEa};
use fsd::fileinfo::{self, SetRequest};
use fsd::lockctl::{self, LockRequest, Unlock};
use fsd::write::WriteAt;
use fsd::{fsctl, security, volinfo, Ccb, Completion, NtStatus, Volume, VolumeOptions};
use lkl::{AddedDisk, FileDisk};

use crate::drive::Drive;

/// The suite on a mounted fsd volume.
pub struct FsdDrive<'a>(pub &'a Volume);

/// An image file mounted through the core; dismounted and its disk
/// removed by [`ImageVolume::finish`].
pub struct ImageVolume {
    volume: Option<Volume>,
    disk: Option<AddedDisk>,
}

impl ImageVolume {
    /// Adds `image` as a disk of the running kernel and mounts its file
    /// system (of partition `partition`, if given).
    pub fn mount(image: &Path, partition: Option<u32>) -> Result<ImageVolume, String> {
        let file = FileDisk::open(image, false).map_err(|e| format!("{}: {e}", image.display()))?;
        let disk = lkl::add_disk(Arc::new(file)).map_err(|e| format!("adding the disk: {e:?}"))?;
        let options = VolumeOptions {
            partition,
            ..VolumeOptions::default()
        };
        match Volume::mount(&disk, &options) {
            Ok(volume) => Ok(ImageVolume {
                volume: Some(volume),
                disk: Some(disk),
            }),
            Err(status) => {
                let _ = disk.remove();
                Err(format!("{}: mounting: {status:?}", image.display()))
            }
        }
    }

    pub fn volume(&self) -> &Volume {
        self.volume.as_ref().expect("mounted")
    }

    /// Dismounts (Linux writes everything back) and removes the disk.
    pub fn finish(mut self) -> Result<(), String> {
        if let Some(v) = self.volume.take() {
            v.dismount().map_err(|s| format!("dismounting: {s:?}"))?;
        }
        if let Some(d) = self.disk.take() {
            d.remove()
                .map_err(|e| format!("removing the disk: {e:?}"))?;
        }
        Ok(())
    }
}

impl Drive for FsdDrive<'_> {
    type Handle = Ccb;

    fn create(
        &self,
        name: &str,
        disposition: u32,
        options: u32,
        access: u32,
        share: u32,
    ) -> Result<(Ccb, u64), NtStatus> {
        let name: Vec<u16> = name.encode_utf16().collect();
        create::create(
            self.0,
            &CreateRequest {
                related: None,
                name: &name,
                disposition,
                options,
                desired_access: access,
                share_access: share,
                file_attributes: 0,
                caller: None,
            },
        )
        .map(|c| (c.ccb, c.information))
    }

    fn close(&self, mut h: Ccb) {
        fsd::cleanup::cleanup(self.0, &mut h);
        fsd::close::close(self.0, h);
    }

    fn read(&self, h: &mut Ccb, offset: u64, buf: &mut [u8]) -> Completion {
        fsd::read::read(self.0, h, Some(offset), buf)
    }

    fn write(&self, h: &mut Ccb, offset: Option<u64>, data: &[u8]) -> Completion {
        let at = offset.map_or(WriteAt::EndOfFile, WriteAt::Offset);
        fsd::write::write(self.0, h, at, data)
    }

    fn flush(&self, h: &mut Ccb) -> Completion {
        fsd::flush::flush(self.0, h)
    }

    fn query_information(&self, h: &Ccb, class: u32, buf: &mut [u8]) -> Completion {
        fileinfo::query(self.0, h, class, buf)
    }

    fn set_information(&self, h: &mut Ccb, class: u32, input: &[u8]) -> Completion {
        match SetRequest::decode(class, input) {
            Ok(req) => fileinfo::set(self.0, h, &req, None),
            Err(e) => e.into(),
        }
    }

    fn query_directory(
        &self,
        h: &mut Ccb,
        class: u32,
        pattern: Option<&str>,
        restart: bool,
        buf: &mut [u8],
    ) -> Completion {
        let pattern: Option<Vec<u16>> = pattern.map(|p| p.encode_utf16().collect());
        dirctrl::query_directory(
            self.0,
            h,
            &QueryDirectory {
                class,
                pattern: pattern.as_deref(),
                restart_scan: restart,
                return_single_entry: false,
                index: None,
            },
            buf,
        )
    }

    fn query_volume_information(&self, class: u32, buf: &mut [u8]) -> Completion {
        volinfo::query(self.0, class, buf)
    }

    fn fsctl(&self, h: &mut Ccb, code: u32, input: &[u8], output: &mut [u8]) -> Completion {
        match code {
            fsctl::FSCTL_GET_REPARSE_POINT => fsctl::get_reparse_point(self.0, h, output),
            fsctl::FSCTL_SET_REPARSE_POINT => fsctl::set_reparse_point(self.0, h, input),
            fsctl::FSCTL_DELETE_REPARSE_POINT => fsctl::delete_reparse_point(self.0, h),
            fsctl::FSCTL_SET_SPARSE => fsctl::set_sparse(self.0, h, input),
            _ => Completion::error(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    fn lock(&self, h: &Ccb, offset: u64, length: u64, exclusive: bool) -> Completion {
        let req = LockRequest {
            offset,
            length,
            key: 0,
            exclusive,
            fail_immediately: true,
            tag: 0,
        };
        lockctl::lock(self.0, h, &req)
    }

    fn unlock(&self, h: &Ccb, offset: u64, length: u64) -> Completion {
        lockctl::unlock(
            self.0,
            h,
            &Unlock::Single {
                offset,
                length,
                key: 0,
            },
        )
        .0
    }

    fn query_ea(&self, h: &mut Ccb, buf: &mut [u8]) -> Completion {
        let all = QueryEa {
            restart_scan: true,
            ..QueryEa::default()
        };
        ea::query(self.0, h, &all, buf)
    }

    fn set_ea(&self, h: &Ccb, input: &[u8]) -> Completion {
        ea::set(self.0, h, input)
    }

    fn query_security(&self, h: &Ccb, which: u32, buf: &mut [u8]) -> Completion {
        security::query(self.0, h, which, buf)
    }
}
