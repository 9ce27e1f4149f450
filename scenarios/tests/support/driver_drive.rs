//! The scenario suite through the Windows half: each request of a
//! scenario is relayed by `lklfsd-ctl relay` (a Windows program under
//! Wine) to lklfsd.sys, which builds the IRP and sends it through
//! IoCallDriver to the volume's device, where the driver's per-major-
//! function modules serve it. Answers come back as the IRP completed them.
#![allow(dead_code)]
use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use fsd::{Completion, NtStatus};
use lklfsd_control::{hex, unhex};

use fsd_scenarios::Drive;
#[path = "../../../fsd/driver/tests/common/mod.rs"]
pub mod installed;

pub use installed::{build_driver, z_path, Installed};

struct Relay {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

/// A mounted volume of the driver, reached through the relay.
pub struct DriverDrive {
    relay: RefCell<Relay>,
    volume: u32,
}

/// What a relayed request came back with.
struct Reply {
    status: NtStatus,
    handle: u32,
    information: u64,
    data: Vec<u8>,
}

const IRP_MJ_CREATE: u32 = 0;
const IRP_MJ_CLOSE: u32 = 2;
const IRP_MJ_READ: u32 = 3;
const IRP_MJ_WRITE: u32 = 4;
const IRP_MJ_QUERY_INFORMATION: u32 = 5;
const IRP_MJ_FLUSH_BUFFERS: u32 = 9;
const IRP_MJ_SET_INFORMATION: u32 = 6;
const IRP_MJ_QUERY_EA: u32 = 7;
const IRP_MJ_SET_EA: u32 = 8;
const IRP_MJ_QUERY_VOLUME_INFORMATION: u32 = 10;
const IRP_MJ_DIRECTORY_CONTROL: u32 = 12;
const IRP_MJ_FILE_SYSTEM_CONTROL: u32 = 13;
const IRP_MJ_LOCK_CONTROL: u32 = 17;
const IRP_MJ_QUERY_SECURITY: u32 = 20;
const IRP_MN_QUERY_DIRECTORY: u32 = 1;
const IRP_MN_LOCK: u32 = 1;
const IRP_MN_UNLOCK_SINGLE: u32 = 2;
const SL_RESTART_SCAN: u32 = 1;
const SL_FAIL_IMMEDIATELY: u32 = 1;
const SL_EXCLUSIVE_LOCK: u32 = 2;
/// The relay's flag: the request's name is a directory query's pattern.
const WITH_PATTERN: u32 = 0x100;
const NO_HANDLE: u32 = u32::MAX;

impl DriverDrive {
    /// The relay for volume `volume` of the driver installed in `d`.
    pub fn start(d: &Installed, volume: u32) -> DriverDrive {
        let mut child = d
            .wine
            .command(&d.ctl)
            .arg("relay")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("lklfsd-ctl relay");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        DriverDrive {
            relay: RefCell::new(Relay {
                child,
                input,
                output,
            }),
            volume,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        major: u32,
        minor: u32,
        handle: u32,
        words: [u32; 4],
        offset: u64,
        output: usize,
        name: &str,
        data: &[u8],
    ) -> Reply {
        let name: Vec<u8> = name.encode_utf16().flat_map(|c| c.to_le_bytes()).collect();
        let line = format!(
            "{major} {minor} {} {handle} {} {} {} {} {offset} {output} {} {}\n",
            self.volume,
            words[0],
            words[1],
            words[2],
            words[3],
            hex(&name),
            hex(data)
        );
        let mut relay = self.relay.borrow_mut();
        relay.input.write_all(line.as_bytes()).unwrap();
        relay.input.flush().unwrap();
        let mut answer = String::new();
        relay.output.read_line(&mut answer).unwrap();
        let f: Vec<&str> = answer.trim_end().split(' ').collect();
        assert_eq!(f.len(), 4, "relay answered {answer:?} to {line:?}");
        Reply {
            status: NtStatus(f[0].parse().unwrap()),
            handle: f[1].parse().unwrap(),
            information: f[2].parse().unwrap(),
            data: unhex(f[3]).expect("the relay's hex"),
        }
    }

    /// A query into `buf`: the completion, the bytes copied out.
    fn query(&self, reply: Reply, buf: &mut [u8]) -> Completion {
        let n = reply.data.len().min(buf.len());
        buf[..n].copy_from_slice(&reply.data[..n]);
        Completion {
            status: reply.status,
            information: reply.information,
        }
    }

    fn completion(reply: Reply) -> Completion {
        Completion {
            status: reply.status,
            information: reply.information,
        }
    }
}

impl Drop for DriverDrive {
    fn drop(&mut self) {
        let relay = self.relay.get_mut();
        let _ = relay.child.kill();
        let _ = relay.child.wait();
    }
}

impl Drive for DriverDrive {
    type Handle = u32;

    fn create(
        &self,
        name: &str,
        disposition: u32,
        options: u32,
        access: u32,
        share: u32,
    ) -> Result<(u32, u64), NtStatus> {
        let r = self.call(
            IRP_MJ_CREATE,
            0,
            NO_HANDLE,
            [disposition, options, access, share],
            0,
            0,
            name,
            &[],
        );
        if r.status.is_error() {
            Err(r.status)
        } else {
            Ok((r.handle, r.information))
        }
    }

    fn close(&self, h: u32) {
        self.call(IRP_MJ_CLOSE, 0, h, [0; 4], 0, 0, "", &[]);
    }

    fn read(&self, h: &mut u32, offset: u64, buf: &mut [u8]) -> Completion {
        let r = self.call(IRP_MJ_READ, 0, *h, [0; 4], offset, buf.len(), "", &[]);
        self.query(r, buf)
    }

    fn write(&self, h: &mut u32, offset: Option<u64>, data: &[u8]) -> Completion {
        // FILE_WRITE_TO_END_OF_FILE is the offset -1.
        let at = offset.unwrap_or(u64::MAX);
        Self::completion(self.call(IRP_MJ_WRITE, 0, *h, [0; 4], at, 0, "", data))
    }

    fn flush(&self, h: &mut u32) -> Completion {
        Self::completion(self.call(IRP_MJ_FLUSH_BUFFERS, 0, *h, [0; 4], 0, 0, "", &[]))
    }

    fn query_information(&self, h: &u32, class: u32, buf: &mut [u8]) -> Completion {
        let r = self.call(
            IRP_MJ_QUERY_INFORMATION,
            0,
            *h,
            [class, 0, 0, 0],
            0,
            buf.len(),
            "",
            &[],
        );
        self.query(r, buf)
    }

    fn set_information(&self, h: &mut u32, class: u32, input: &[u8]) -> Completion {
        Self::completion(self.call(
            IRP_MJ_SET_INFORMATION,
            0,
            *h,
            [class, 0, 0, 0],
            0,
            0,
            "",
            input,
        ))
    }

    fn query_directory(
        &self,
        h: &mut u32,
        class: u32,
        pattern: Option<&str>,
        restart: bool,
        buf: &mut [u8],
    ) -> Completion {
        let flags = if restart { SL_RESTART_SCAN } else { 0 }
            | if pattern.is_some() { WITH_PATTERN } else { 0 };
        let r = self.call(
            IRP_MJ_DIRECTORY_CONTROL,
            IRP_MN_QUERY_DIRECTORY,
            *h,
            [class, flags, 0, 0],
            0,
            buf.len(),
            pattern.unwrap_or(""),
            &[],
        );
        self.query(r, buf)
    }

    fn query_volume_information(&self, class: u32, buf: &mut [u8]) -> Completion {
        let r = self.call(
            IRP_MJ_QUERY_VOLUME_INFORMATION,
            0,
            NO_HANDLE,
            [class, 0, 0, 0],
            0,
            buf.len(),
            "",
            &[],
        );
        self.query(r, buf)
    }

    fn fsctl(&self, h: &mut u32, code: u32, input: &[u8], output: &mut [u8]) -> Completion {
        let r = self.call(
            IRP_MJ_FILE_SYSTEM_CONTROL,
            0,
            *h,
            [code, 0, 0, 0],
            0,
            output.len(),
            "",
            input,
        );
        self.query(r, output)
    }

    fn lock(&self, h: &u32, offset: u64, length: u64, exclusive: bool) -> Completion {
        let flags = SL_FAIL_IMMEDIATELY | if exclusive { SL_EXCLUSIVE_LOCK } else { 0 };
        let words = [length as u32, (length >> 32) as u32, 0, flags];
        Self::completion(self.call(
            IRP_MJ_LOCK_CONTROL,
            IRP_MN_LOCK,
            *h,
            words,
            offset,
            0,
            "",
            &[],
        ))
    }

    fn unlock(&self, h: &u32, offset: u64, length: u64) -> Completion {
        let words = [length as u32, (length >> 32) as u32, 0, 0];
        Self::completion(self.call(
            IRP_MJ_LOCK_CONTROL,
            IRP_MN_UNLOCK_SINGLE,
            *h,
            words,
            offset,
            0,
            "",
            &[],
        ))
    }

    fn query_ea(&self, h: &mut u32, buf: &mut [u8]) -> Completion {
        let r = self.call(
            IRP_MJ_QUERY_EA,
            0,
            *h,
            [0, SL_RESTART_SCAN, 0, 0],
            0,
            buf.len(),
            "",
            &[],
        );
        self.query(r, buf)
    }

    fn set_ea(&self, h: &u32, input: &[u8]) -> Completion {
        Self::completion(self.call(IRP_MJ_SET_EA, 0, *h, [0; 4], 0, 0, "", input))
    }

    fn query_security(&self, h: &u32, which: u32, buf: &mut [u8]) -> Completion {
        let r = self.call(
            IRP_MJ_QUERY_SECURITY,
            0,
            *h,
            [which, 0, 0, 0],
            0,
            buf.len(),
            "",
            &[],
        );
        self.query(r, buf)
    }
}
