//! IRP_MJ_QUERY_VOLUME_INFORMATION (buffered).
use fsd::Completion;

use crate::buffers;
use crate::irp::Irp;
use crate::volume::MountedVolume;

pub fn query(vol: &MountedVolume, irp: Irp) -> Completion {
    // SAFETY: the QueryVolume view of its stack location.
    let p = unsafe { irp.stack().Parameters.QueryVolume };
    match buffers::system(irp, p.Length as usize) {
        Ok(out) => fsd::volinfo::query(&vol.core, p.FsInformationClass as u32, out),
        Err(e) => e.into(),
    }
}
