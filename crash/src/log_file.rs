//! A recording in a file, for a recording made in another process (`lklfs
//! --record FILE`, also as lklfs.exe under Wine): a header line, then each
//! event as a kind byte and its fields, little-endian (a write's data after
//! its length).
use std::io::{self, Read, Write};
use std::sync::Arc;

use lkl::DiskOp;

use crate::recording::{Event, Log};

const HEADER: &[u8] = b"lkl-crash log 1\n";

/// The operation's number in the file (also an index by operation).
pub(crate) fn op_code(op: DiskOp) -> u8 {
    match op {
        DiskOp::Read => 0,
        DiskOp::Write => 1,
        DiskOp::Flush => 2,
        DiskOp::Discard => 3,
        DiskOp::WriteZeroes => 4,
    }
}

fn op_of(code: u8) -> io::Result<DiskOp> {
    Ok(match code {
        0 => DiskOp::Read,
        1 => DiskOp::Write,
        2 => DiskOp::Flush,
        3 => DiskOp::Discard,
        4 => DiskOp::WriteZeroes,
        _ => return Err(bad("unknown operation")),
    })
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a recording: {what}"),
    )
}

impl Log {
    /// Writes the recording to `out`.
    pub fn save(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(HEADER)?;
        for event in &self.events {
            match event {
                Event::Submitted {
                    id,
                    op,
                    offset,
                    len,
                    fua,
                    data,
                } => {
                    out.write_all(&[0])?;
                    out.write_all(&id.to_le_bytes())?;
                    out.write_all(&[op_code(*op)])?;
                    out.write_all(&offset.to_le_bytes())?;
                    out.write_all(&len.to_le_bytes())?;
                    out.write_all(&[*fua as u8, data.is_some() as u8])?;
                    if let Some(d) = data {
                        out.write_all(&(d.len() as u64).to_le_bytes())?;
                        out.write_all(d)?;
                    }
                }
                Event::Completed { id, ok } => {
                    out.write_all(&[1])?;
                    out.write_all(&id.to_le_bytes())?;
                    out.write_all(&[*ok as u8])?;
                }
                Event::Mark(tag) => {
                    out.write_all(&[2])?;
                    out.write_all(&tag.to_le_bytes())?;
                }
            }
        }
        out.flush()
    }

    /// Reads a recording that [`Log::save`] wrote.
    pub fn load(input: &mut impl Read) -> io::Result<Log> {
        let mut header = [0u8; HEADER.len()];
        input.read_exact(&mut header)?;
        if header != HEADER {
            return Err(bad("no header"));
        }
        let mut events = Vec::new();
        let mut kind = [0u8; 1];
        loop {
            match input.read_exact(&mut kind) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
            events.push(match kind[0] {
                0 => {
                    let id = u64_of(input)?;
                    let op = op_of(byte(input)?)?;
                    let (offset, len) = (u64_of(input)?, u64_of(input)?);
                    let (fua, has_data) = (byte(input)? != 0, byte(input)? != 0);
                    let data = if has_data {
                        let n = u64_of(input)?;
                        if n != len {
                            return Err(bad("a write's data is not its length"));
                        }
                        let mut d = vec![0u8; n as usize];
                        input.read_exact(&mut d)?;
                        Some(Arc::from(d))
                    } else {
                        None
                    };
                    Event::Submitted {
                        id,
                        op,
                        offset,
                        len,
                        fua,
                        data,
                    }
                }
                1 => Event::Completed {
                    id: u64_of(input)?,
                    ok: byte(input)? != 0,
                },
                2 => {
                    let mut tag = [0u8; 4];
                    input.read_exact(&mut tag)?;
                    Event::Mark(u32::from_le_bytes(tag))
                }
                _ => return Err(bad("unknown event")),
            });
        }
        Ok(Log { events })
    }
}

fn byte(input: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    input.read_exact(&mut b)?;
    Ok(b[0])
}

fn u64_of(input: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    input.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}
