//! The scenario suite's view of a volume: the operations a Windows program
//! makes (NtCreateFile, NtReadFile, NtQueryInformationFile, ...), with raw
//! buffers in the documented layouts. `FsdDrive` answers them through the
//! fsd core; the Windows half of the driver can answer the same suite
//! through the real system calls on a drive letter, with NTFS as the
//! reference.
#![allow(dead_code)]
use fsd::create::{self, CreateRequest};
use fsd::dirctrl::{self, QueryDirectory};
use fsd::ea::{self, QueryEa};
use fsd::fileinfo::{self, SetRequest};
use fsd::lockctl::{self, LockRequest, Unlock};
use fsd::write::WriteAt;
use fsd::{fsctl, security, volinfo, Ccb, Completion, NtStatus, Volume};

pub trait Drive {
    type Handle;

    /// NtCreateFile: the handle and the IoStatus Information.
    fn create(
        &self,
        name: &str,
        disposition: u32,
        options: u32,
        access: u32,
        share: u32,
    ) -> Result<(Self::Handle, u64), NtStatus>;
    fn close(&self, h: Self::Handle);
    fn read(&self, h: &mut Self::Handle, offset: u64, buf: &mut [u8]) -> Completion;
    /// `offset` None: FILE_WRITE_TO_END_OF_FILE.
    fn write(&self, h: &mut Self::Handle, offset: Option<u64>, data: &[u8]) -> Completion;
    fn query_information(&self, h: &Self::Handle, class: u32, buf: &mut [u8]) -> Completion;
    fn set_information(&self, h: &mut Self::Handle, class: u32, input: &[u8]) -> Completion;
    fn query_directory(
        &self,
        h: &mut Self::Handle,
        class: u32,
        pattern: Option<&str>,
        restart: bool,
        buf: &mut [u8],
    ) -> Completion;
    fn query_volume_information(&self, class: u32, buf: &mut [u8]) -> Completion;
    fn get_reparse_point(&self, h: &Self::Handle, buf: &mut [u8]) -> Completion;
    fn lock(&self, h: &Self::Handle, offset: u64, length: u64, exclusive: bool) -> Completion;
    fn unlock(&self, h: &Self::Handle, offset: u64, length: u64) -> Completion;
    fn query_ea(&self, h: &mut Self::Handle, buf: &mut [u8]) -> Completion;
    fn set_ea(&self, h: &Self::Handle, input: &[u8]) -> Completion;
    fn query_security(&self, h: &Self::Handle, which: u32, buf: &mut [u8]) -> Completion;
}

/// The suite on the fsd core.
pub struct FsdDrive<'a>(pub &'a Volume);

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
            },
        )
        .map(|c| (c.ccb, c.information))
    }

    fn close(&self, h: Ccb) {
        fsd::close::close(self.0, h);
    }

    fn read(&self, h: &mut Ccb, offset: u64, buf: &mut [u8]) -> Completion {
        fsd::read::read(self.0, h, Some(offset), buf)
    }

    fn write(&self, h: &mut Ccb, offset: Option<u64>, data: &[u8]) -> Completion {
        let at = offset.map_or(WriteAt::EndOfFile, WriteAt::Offset);
        fsd::write::write(self.0, h, at, data)
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

    fn get_reparse_point(&self, h: &Ccb, buf: &mut [u8]) -> Completion {
        fsctl::get_reparse_point(self.0, h, buf)
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
