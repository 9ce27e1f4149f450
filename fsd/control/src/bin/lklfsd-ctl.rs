//! `lklfsd-ctl`: talks to the lklfsd driver's control device and its
//! volumes from user mode, through ntdll (so every answer is the driver's
//! exact NTSTATUS). Each command prints one result per line.
//!
//! ```text
//! lklfsd-ctl attach [--ro] [--4k] PATH  image file -> disk number (--4k: 4 KiB sectors)
//! lklfsd-ctl detach DISK
//! lklfsd-ctl list                     disk flags size volume letter
//! lklfsd-ctl stats                    counters, then the kernel's console
//! lklfsd-ctl mount DISK [PART] [X:] [--ro]
//!                                     -> volume number (\\.\LklFsdVolumeN), and
//!                                        with a letter how it was made
//!                                        (1 Mount Manager, 2 symbolic link)
//! lklfsd-ctl selftest DISK            (test mode) the in-driver IRP test
//! lklfsd-ctl bench DISK               (test mode) IRP path vs core, in the driver
//! lklfsd-ctl panic                    (test mode) makes Linux panic
//! lklfsd-ctl arrive NT-PATH           (test mode) as if that device arrived -> disk
//! lklfsd-ctl depart [--surprise] NT-PATH  (test mode) as if it went
//! lklfsd-ctl volume N|X: read OFFSET LEN | write OFFSET LEN | flush
//!                   | volinfo CLASS LEN | fsctl CODE
//! lklfsd-ctl raw CODE INLEN OUTLEN    an IOCTL with a buffer of zeroes
//! lklfsd-ctl relay                    (test mode) requests from stdin, one a line:
//!     MAJOR MINOR VOLUME HANDLE A B C D OFFSET OUTPUT NAME-HEX DATA-HEX
//!   (numbers in decimal, `-` for empty hex), each answered on stdout
//!   with STATUS HANDLE INFORMATION OUTPUT-HEX
//! ```
#[cfg(windows)]
mod windows {
    use std::ffi::c_void;
    use std::ptr::null_mut;

    use lklfsd_control::client::Device;
    use lklfsd_control::{self as ctl, RelayReply, RelayRequest, Statistics};

    type Handle = *mut c_void;

    #[repr(C)]
    struct IoStatus {
        status: isize,
        information: usize,
    }

    #[link(name = "ntdll")]
    unsafe extern "system" {
        fn NtFsControlFile(
            h: Handle,
            event: Handle,
            apc: *mut c_void,
            ctx: *mut c_void,
            iosb: *mut IoStatus,
            code: u32,
            input: *const c_void,
            in_len: u32,
            output: *mut c_void,
            out_len: u32,
        ) -> i32;
        fn NtReadFile(
            h: Handle,
            event: Handle,
            apc: *mut c_void,
            ctx: *mut c_void,
            iosb: *mut IoStatus,
            buf: *mut c_void,
            len: u32,
            offset: *const i64,
            key: *const u32,
        ) -> i32;
        fn NtWriteFile(
            h: Handle,
            event: Handle,
            apc: *mut c_void,
            ctx: *mut c_void,
            iosb: *mut IoStatus,
            buf: *const c_void,
            len: u32,
            offset: *const i64,
            key: *const u32,
        ) -> i32;
        fn NtFlushBuffersFile(h: Handle, iosb: *mut IoStatus) -> i32;
        fn NtQueryVolumeInformationFile(
            h: Handle,
            iosb: *mut IoStatus,
            buf: *mut c_void,
            len: u32,
            class: u32,
        ) -> i32;
    }

    /// Opens a device, or ends the run.
    fn open(path: &str) -> Device {
        Device::open(path).unwrap_or_else(|e| {
            eprintln!("lklfsd-ctl: cannot open {path}: error {e}");
            std::process::exit(1);
        })
    }

    fn status_line(s: i32) -> String {
        format!("status {:#010x}", s as u32)
    }

    fn arg(args: &[String], i: usize) -> &str {
        args.get(i).map(String::as_str).unwrap_or_else(|| {
            eprintln!("lklfsd-ctl: missing argument (see the source's header for usage)");
            std::process::exit(2)
        })
    }

    fn num(s: &str) -> u64 {
        let parsed = match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => s.parse(),
        };
        parsed.unwrap_or_else(|_| {
            eprintln!("lklfsd-ctl: not a number: {s}");
            std::process::exit(2)
        })
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let ro = args.iter().any(|a| a == "--ro");
        let sectors_4k = args.iter().any(|a| a == "--4k");
        let args: Vec<String> = args
            .into_iter()
            .filter(|a| a != "--ro" && a != "--4k")
            .collect();
        let control = || open(ctl::client::CONTROL_PATH);
        let code = match arg(&args, 0) {
            "attach" => {
                let flags = (ro as u32 * ctl::ATTACH_READ_ONLY)
                    | (sectors_4k as u32 * ctl::ATTACH_SECTORS_4K);
                answer(control().attach_with(arg(&args, 1), flags), |n| {
                    n.to_string()
                })
            }
            "detach" => answer(control().detach(num(arg(&args, 1)) as u32), |()| {
                String::new()
            }),
            "list" => answer(control().list(), |images| {
                images
                    .iter()
                    .map(|i| {
                        let letter = char::from_u32(u32::from(i.letter)).filter(|_| i.letter != 0);
                        let letter = letter.map_or("-".to_string(), |l| format!("{l}:"));
                        format!(
                            "{} {} {} {} {letter}",
                            i.disk, i.flags, i.size, i.volume as i32
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            "stats" => {
                let (s, out) =
                    control().ioctl(ctl::IOCTL_STATISTICS, &[], Statistics::SIZE + (16 << 10));
                report(s, || statistics(&out))
            }
            "mount" => {
                // mount DISK [PARTITION] [X:]
                let rest = args.get(2..).unwrap_or(&[]);
                let letter = rest
                    .iter()
                    .find(|a| a.len() == 2 && a.ends_with(':'))
                    .and_then(|a| a.chars().next());
                let partition = rest.iter().find(|a| !a.ends_with(':'));
                let (disk, partition) = (num(arg(&args, 1)), partition.map_or(0, |p| num(p)));
                answer(
                    control().mount(disk as u32, partition as u32, ro, letter),
                    |m| match m.letter_by {
                        ctl::LETTER_NONE => m.volume.to_string(),
                        by => format!("{} {by}", m.volume),
                    },
                )
            }
            "selftest" => {
                let disk = num(arg(&args, 1)) as u32;
                let (s, out) = control().ioctl(ctl::IOCTL_SELF_TEST, &disk.to_le_bytes(), 64 << 10);
                report(s, || String::from_utf8_lossy(&out).into_owned())
            }
            "bench" => {
                let disk = num(arg(&args, 1)) as u32;
                let (s, out) = control().ioctl(ctl::IOCTL_BENCH, &disk.to_le_bytes(), 4096);
                report(s, || String::from_utf8_lossy(&out).into_owned())
            }
            "arrive" => {
                let path: Vec<u8> = arg(&args, 1)
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect();
                let (s, out) = control().ioctl(ctl::IOCTL_TEST_ARRIVAL, &path, 4);
                report(s, || {
                    out.get(..4).map_or(String::new(), |b| {
                        u32::from_le_bytes(b.try_into().unwrap()).to_string()
                    })
                })
            }
            "depart" => {
                let surprise = args.get(1).is_some_and(|a| a == "--surprise");
                let path = arg(&args, 1 + usize::from(surprise));
                let mut input = u32::from(surprise).to_le_bytes().to_vec();
                input.extend(path.encode_utf16().flat_map(u16::to_le_bytes));
                let (s, _) = control().ioctl(ctl::IOCTL_TEST_DEPARTURE, &input, 0);
                report(s, String::new)
            }
            "panic" => {
                let (s, _) = control().ioctl(ctl::IOCTL_PANIC, &[], 0);
                report(s, String::new)
            }
            "raw" => {
                let input = vec![0u8; num(arg(&args, 2)) as usize];
                let (s, out) = control().ioctl(
                    num(arg(&args, 1)) as u32,
                    &input,
                    num(arg(&args, 3)) as usize,
                );
                report(s, || format!("{} bytes", out.len()))
            }
            "volume" => volume(&args),
            "relay" => relay(&control()),
            other => {
                eprintln!("lklfsd-ctl: unknown command {other}");
                2
            }
        };
        std::process::exit(code);
    }

    fn volume(args: &[String]) -> i32 {
        // N: volume N; X: a drive letter (the disk it names).
        let which = arg(args, 1);
        let volume = if which.ends_with(':') {
            open(&format!("\\\\.\\{which}"))
        } else {
            open(&format!("\\\\.\\LklFsdVolume{}", num(which)))
        };
        let h = volume.handle();
        let mut iosb = IoStatus {
            status: 0,
            information: 0,
        };
        let code = match arg(args, 2) {
            "read" => {
                let (offset, len) = (num(arg(args, 3)) as i64, num(arg(args, 4)) as usize);
                let mut buf = vec![0u8; len];
                // SAFETY: a live buffer of len bytes.
                let s = unsafe {
                    NtReadFile(
                        h,
                        null_mut(),
                        null_mut(),
                        null_mut(),
                        &mut iosb,
                        buf.as_mut_ptr().cast(),
                        len as u32,
                        &offset,
                        null_mut(),
                    )
                };
                buf.truncate(iosb.information.min(len));
                report(s, || buf.iter().map(|b| format!("{b:02x}")).collect())
            }
            "write" => {
                let (offset, len) = (num(arg(args, 3)) as i64, num(arg(args, 4)) as usize);
                let buf = vec![0u8; len];
                // SAFETY: a live buffer of len bytes.
                let s = unsafe {
                    NtWriteFile(
                        h,
                        null_mut(),
                        null_mut(),
                        null_mut(),
                        &mut iosb,
                        buf.as_ptr().cast(),
                        len as u32,
                        &offset,
                        null_mut(),
                    )
                };
                report(s, || iosb.information.to_string())
            }
            "flush" => {
                // SAFETY: a live status block.
                let s = unsafe { NtFlushBuffersFile(h, &mut iosb) };
                report(s, String::new)
            }
            "volinfo" => {
                let (class, len) = (num(arg(args, 3)) as u32, num(arg(args, 4)) as usize);
                let mut buf = vec![0u8; len];
                // SAFETY: a live buffer of len bytes.
                let s = unsafe {
                    NtQueryVolumeInformationFile(
                        h,
                        &mut iosb,
                        buf.as_mut_ptr().cast(),
                        len as u32,
                        class,
                    )
                };
                buf.truncate(iosb.information.min(len));
                report(s, || buf.iter().map(|b| format!("{b:02x}")).collect())
            }
            "fsctl" => {
                let code = num(arg(args, 3)) as u32;
                // SAFETY: no buffers.
                let s = unsafe {
                    NtFsControlFile(
                        h,
                        null_mut(),
                        null_mut(),
                        null_mut(),
                        &mut iosb,
                        code,
                        std::ptr::null(),
                        0,
                        null_mut(),
                        0,
                    )
                };
                report(s, String::new)
            }
            other => {
                eprintln!("lklfsd-ctl: unknown volume command {other}");
                2
            }
        };
        code
    }

    /// Relays requests read from stdin until it ends (see the header).
    fn relay(control: &Device) -> i32 {
        use std::io::{BufRead, Write};
        let stdin = std::io::stdin();
        let mut stdout = std::io::stdout();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() != 12 {
                let _ = writeln!(stdout, "bad request");
                continue;
            }
            let n = |i: usize| f[i].parse::<u64>().unwrap_or(0);
            let req = RelayRequest {
                major: n(0) as u32,
                minor: n(1) as u32,
                volume: n(2) as u32,
                handle: n(3) as u32,
                a: n(4) as u32,
                b: n(5) as u32,
                c: n(6) as u32,
                d: n(7) as u32,
                offset: n(8),
                output: n(9) as u32,
            };
            let name: Vec<u16> = ctl::unhex(f[10])
                .unwrap_or_default()
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            let input = req.encode(&name, &ctl::unhex(f[11]).unwrap_or_default());
            let (s, out) = control.ioctl(
                ctl::IOCTL_RELAY,
                &input,
                RelayReply::SIZE + req.output as usize,
            );
            let reply = if s < 0 {
                RelayReply {
                    status: s as u32,
                    handle: u32::MAX,
                    information: 0,
                }
            } else {
                RelayReply::decode(&out).unwrap_or_default()
            };
            let data = out.get(RelayReply::SIZE..).unwrap_or(&[]);
            let _ = writeln!(
                stdout,
                "{} {} {} {}",
                reply.status,
                reply.handle,
                reply.information,
                ctl::hex(data)
            );
            let _ = stdout.flush();
        }
        0
    }

    fn statistics(out: &[u8]) -> String {
        let Some(s) = Statistics::decode(out) else {
            return String::from("short statistics");
        };
        let mut text = String::new();
        for (major, n) in s.requests.iter().enumerate().filter(|(_, n)| **n > 0) {
            text += &format!("requests.{major} {n}\n");
        }
        text += &format!(
            "errors {}\nlinux_blocks {}\nlinux_bytes {}\nheap_blocks {}\nheap_bytes {}\nlinux_ns {}\nboot_ns {}\nkernel_state {}\nthreads {}\nimages {}\nvolumes {}\ncached {}\nevents {}\nstack_deepest {}\nin_place {}\n--- console ---\n{}",
            s.errors, s.linux_blocks, s.linux_bytes, s.heap_blocks, s.heap_bytes, s.linux_ns, s.boot_ns,
            s.kernel_state, s.threads, s.images, s.volumes, s.cached, s.events, s.stack_deepest, s.in_place,
            String::from_utf8_lossy(&out[Statistics::SIZE..])
        );
        text
    }

    /// Prints the status line and, on success, what `body` says; the exit
    /// code. A reader that goes early (`| head`) ends the output quietly.
    /// Reports a call's result: its status, then what `body` makes of its
    /// value.
    fn answer<T>(result: Result<T, i32>, body: impl FnOnce(T) -> String) -> i32 {
        match result {
            Ok(v) => report(0, || body(v)),
            Err(s) => report(s, String::new),
        }
    }

    fn report(status: i32, body: impl FnOnce() -> String) -> i32 {
        use std::io::Write;
        let mut out = std::io::stdout();
        let mut text = status_line(status) + "\n";
        if status >= 0 {
            let b = body();
            if !b.is_empty() {
                text += &b;
                text.push('\n');
            }
        }
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        if status >= 0 {
            0
        } else {
            1
        }
    }
}

#[cfg(windows)]
fn main() {
    windows::main()
}

#[cfg(not(windows))]
fn main() {
    eprintln!("lklfsd-ctl talks to the lklfsd driver, which is for Windows");
    std::process::exit(2);
}
