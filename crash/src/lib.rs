//! Crash consistency for the kernel's file systems on our block layer:
//! [`RecordingDisk`] records every request a file system sends (with each
//! write's data) and the order they complete in, and [`crash_states`]
//! turns a recording into the disk contents a crash could leave behind:
//! after every completed request, and within each flush epoch the states
//! a volatile write cache allows (completed writes not yet flushed may or
//! may not have reached the medium, in any combination). [`FaultyDisk`]
//! and [`ShuffledDisk`] misbehave as real disks do: failed requests, a
//! disk that goes away or is shorter than its file system, late and
//! reordered completions. A recording made in another process comes in a
//! file ([`Log::save`], [`Log::load`]).
/// The `Disk` methods of a disk that wraps another (its field `inner`)
/// and is as large, as sized and as writable as it.
macro_rules! same_geometry_as_inner {
    () => {
        fn capacity(&self) -> u64 {
            self.inner.capacity()
        }

        fn block_size(&self) -> u32 {
            self.inner.block_size()
        }

        fn read_only(&self) -> bool {
            self.inner.read_only()
        }
    };
}

mod faults;
mod log_file;
mod recording;
mod states;

pub use faults::{Fault, FaultyDisk, ShuffledDisk};
pub use recording::{Event, Log, RecordingDisk};
pub use states::{crash_states, CrashState, Limits};
