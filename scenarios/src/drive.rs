//! The suite's view of a volume: the operations a Windows program makes
//! (NtCreateFile, NtReadFile, NtQueryInformationFile, ...), with raw
//! buffers in the documented layouts and names from the suite's root
//! (`\dir\file`). Each place the suite runs answers them its own way: the
//! fsd core in-process (`core_drive`), ntdll on a real drive (`nt_drive`),
//! the driver through its relay (the tests).
use fsd::{Completion, NtStatus};

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
    /// NtFlushBuffersFile.
    fn flush(&self, h: &mut Self::Handle) -> Completion;
    fn query_information(&self, h: &Self::Handle, class: u32, buf: &mut [u8]) -> Completion;
    /// NtSetInformationFile. Rename and link buffers name their target
    /// from the suite's root with RootDirectory 0.
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
    /// NtFsControlFile with a buffered input and output.
    fn fsctl(&self, h: &mut Self::Handle, code: u32, input: &[u8], output: &mut [u8])
        -> Completion;
    fn lock(&self, h: &Self::Handle, offset: u64, length: u64, exclusive: bool) -> Completion;
    fn unlock(&self, h: &Self::Handle, offset: u64, length: u64) -> Completion;
    fn query_ea(&self, h: &mut Self::Handle, buf: &mut [u8]) -> Completion;
    fn set_ea(&self, h: &Self::Handle, input: &[u8]) -> Completion;
    fn query_security(&self, h: &Self::Handle, which: u32, buf: &mut [u8]) -> Completion;
}
