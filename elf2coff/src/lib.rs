//! The kernel's relocatable x86_64 ELF object as a 64-bit COFF object.
//!
//! Every allocated ELF section becomes a grouped COFF section (`.text$lkl007`
//! and so on): Windows linkers merge the groups of a class in name order,
//! so the kernel's sections keep their order. Relocations map to
//! IMAGE_REL_AMD64_ADDR64 and REL32 with their addends stored in place;
//! any relocation that cannot be right above 4 GiB is an error, and so is
//! any undefined symbol: the object imports nothing.
mod coff;

use std::collections::HashMap;
use std::fmt;

use object::elf;
use object::read::{
    Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionIndex,
    SymbolSection,
};

use coff::{Relocation, Section, Symbol};

#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err(msg: impl Into<String>) -> Error {
    Error(msg.into())
}

/// The COFF class and characteristics of an allocated ELF section.
fn class_of(flags: u64, nobits: bool) -> (&'static str, u32) {
    use coff::*;
    if flags & u64::from(elf::SHF_EXECINSTR) != 0 {
        (
            ".text",
            IMAGE_SCN_CNT_CODE | IMAGE_SCN_MEM_EXECUTE | IMAGE_SCN_MEM_READ,
        )
    } else if nobits {
        (
            ".bss",
            IMAGE_SCN_CNT_UNINITIALIZED_DATA | IMAGE_SCN_MEM_READ | IMAGE_SCN_MEM_WRITE,
        )
    } else if flags & u64::from(elf::SHF_WRITE) != 0 {
        (
            ".data",
            IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ | IMAGE_SCN_MEM_WRITE,
        )
    } else {
        (
            ".rdata",
            IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ,
        )
    }
}

/// The kept section at address `at` (as `ld -r` laid them out): the one
/// starting there, else the last one before it, with the offset clamped to
/// its end (so an empty table's start and stop stay equal).
fn place(spans: &[(u64, u64)], at: u64) -> Option<(usize, u64)> {
    let k = spans
        .iter()
        .position(|&(start, _)| start == at)
        .or_else(|| {
            spans
                .iter()
                .enumerate()
                .filter(|(_, &(start, _))| start <= at)
                .max_by_key(|(_, &(start, _))| start)
                .map(|(k, _)| k)
        })?;
    Some((k, (at - spans[k].0).min(spans[k].1)))
}

/// Converts ELF object `input` to COFF.
pub fn convert(input: &[u8]) -> Result<Vec<u8>, Error> {
    let file = object::File::parse(input).map_err(|e| err(format!("not an object file: {e}")))?;
    if file.architecture() != object::Architecture::X86_64
        || file.format() != object::BinaryFormat::Elf
    {
        return Err(err("not an x86_64 ELF object"));
    }
    // Allocated sections, in file order.
    let mut kept: HashMap<SectionIndex, usize> = HashMap::new();
    let mut sections = Vec::new();
    // Where `ld -r` placed each kept section (its address and size).
    let mut spans: Vec<(u64, u64)> = Vec::new();
    for s in file.sections() {
        let object::SectionFlags::Elf { sh_flags } = s.flags() else {
            continue;
        };
        if sh_flags & u64::from(elf::SHF_ALLOC) == 0 {
            continue;
        }
        let nobits = s.kind() == object::SectionKind::UninitializedData;
        let (class, characteristics) = class_of(sh_flags, nobits);
        let data = if nobits {
            None
        } else {
            Some(
                s.data()
                    .map_err(|e| err(format!("section {}: {e}", s.name().unwrap_or("?"))))?
                    .to_vec(),
            )
        };
        let size = u32::try_from(s.size()).map_err(|_| err("a section over 4 GiB"))?;
        kept.insert(s.index(), sections.len());
        spans.push((s.address(), s.size()));
        sections.push(Section {
            name: format!("{class}$lkl{:04}", sections.len()),
            data,
            size,
            align: s.align(),
            characteristics,
            relocations: Vec::new(),
        });
    }

    // Symbols: each defined one in a kept section (locals stay local);
    // references to section symbols go to the COFF section symbols.
    let base = coff::section_symbol(sections.len());
    let mut symbols = Vec::new();
    let mut coff_index: HashMap<object::SymbolIndex, u32> = HashMap::new();
    for sym in file.symbols() {
        let (target, value) = match sym.section() {
            SymbolSection::Section(i) => {
                let Ok(section) = file.section_by_index(i) else {
                    continue;
                };
                match kept.get(&i) {
                    // Inside its own section: where it is.
                    Some(&k) if sym.address() <= section.size() => (k, sym.address()),
                    // In an empty marker section that is not allocated, or
                    // just before its section (a boundary symbol placed
                    // before an alignment): where `ld -r` put it.
                    _ => match place(&spans, section.address().wrapping_add(sym.address())) {
                        Some(placed) => placed,
                        None => continue,
                    },
                }
            }
            // Undefined: an error if a relocation uses it (below).
            _ => continue,
        };
        if sym.kind() == object::SymbolKind::Section {
            if value == 0 {
                coff_index.insert(sym.index(), coff::section_symbol(target));
            }
            continue;
        }
        let name = sym.name().map_err(|e| err(e.to_string()))?;
        if name.is_empty() {
            continue;
        }
        coff_index.insert(sym.index(), base + symbols.len() as u32);
        symbols.push(Symbol {
            name: name.to_string(),
            value: value as u32,
            section: (target + 1) as i16,
            class: if sym.is_global() {
                coff::IMAGE_SYM_CLASS_EXTERNAL
            } else {
                coff::IMAGE_SYM_CLASS_STATIC
            },
            function: sym.kind() == object::SymbolKind::Text,
        });
    }

    for s in file.sections() {
        let Some(&k) = kept.get(&s.index()) else {
            continue;
        };
        for (offset, reloc) in s.relocations() {
            let RelocationFlags::Elf { r_type } = reloc.flags() else {
                return Err(err("not an ELF relocation"));
            };
            let RelocationTarget::Symbol(target) = reloc.target() else {
                return Err(err(format!("relocation at {offset:#x} without a symbol")));
            };
            let symbol = *coff_index.get(&target).ok_or_else(|| {
                let name = file.symbol_by_index(target).ok().and_then(|s| s.name().ok().map(str::to_string));
                err(format!(
                    "relocation at {offset:#x} against {}: undefined or dropped (the object must import nothing)",
                    name.unwrap_or_default()
                ))
            })?;
            let at = offset as usize;
            let section = &mut sections[k];
            let data = section
                .data
                .as_mut()
                .ok_or_else(|| err("relocation in uninitialized data"))?;
            let kind = match r_type {
                elf::R_X86_64_64 => {
                    data[at..at + 8].copy_from_slice(&reloc.addend().to_le_bytes());
                    coff::IMAGE_REL_AMD64_ADDR64
                }
                elf::R_X86_64_PC32
                | elf::R_X86_64_PLT32
                | elf::R_X86_64_GOTPCRELX
                | elf::R_X86_64_REX_GOTPCRELX => {
                    if matches!(
                        r_type,
                        elf::R_X86_64_GOTPCRELX | elf::R_X86_64_REX_GOTPCRELX
                    ) {
                        // Load the address from a GOT entry -> compute it:
                        // `mov sym@GOTPCREL(%rip), %reg` becomes `lea`.
                        if at < 2 || data[at - 2] != 0x8b {
                            return Err(err(format!(
                                "GOT-relative access at {offset:#x} is not a mov"
                            )));
                        }
                        data[at - 2] = 0x8d;
                    }
                    // COFF's REL32 is relative to the end of the field.
                    let addend = i32::try_from(reloc.addend() + 4)
                        .map_err(|_| err("addend out of range"))?;
                    data[at..at + 4].copy_from_slice(&addend.to_le_bytes());
                    coff::IMAGE_REL_AMD64_REL32
                }
                other => {
                    return Err(err(format!(
                    "relocation type {other} at {:#x} in {}: not expressible above 4 GiB in COFF",
                    offset,
                    s.name().unwrap_or("?")
                )))
                }
            };
            section.relocations.push(Relocation {
                offset: offset as u32,
                symbol,
                kind,
            });
        }
    }
    Ok(coff::write(&sections, &symbols))
}
