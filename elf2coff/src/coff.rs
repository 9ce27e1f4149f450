//! Writing a 64-bit COFF object: sections with their data and
//! relocations, a symbol table with section symbols, and the string table
//! for names longer than eight bytes.
use std::collections::HashMap;

pub const IMAGE_FILE_MACHINE_AMD64: u16 = 0x8664;
pub const IMAGE_REL_AMD64_ADDR64: u16 = 1;
pub const IMAGE_REL_AMD64_REL32: u16 = 4;

pub const IMAGE_SCN_CNT_CODE: u32 = 0x0000_0020;
pub const IMAGE_SCN_CNT_INITIALIZED_DATA: u32 = 0x0000_0040;
pub const IMAGE_SCN_CNT_UNINITIALIZED_DATA: u32 = 0x0000_0080;
pub const IMAGE_SCN_LNK_NRELOC_OVFL: u32 = 0x0100_0000;
pub const IMAGE_SCN_MEM_EXECUTE: u32 = 0x2000_0000;
pub const IMAGE_SCN_MEM_READ: u32 = 0x4000_0000;
pub const IMAGE_SCN_MEM_WRITE: u32 = 0x8000_0000;

pub const IMAGE_SYM_CLASS_EXTERNAL: u8 = 2;
pub const IMAGE_SYM_CLASS_STATIC: u8 = 3;

pub struct Section {
    pub name: String,
    /// Contents; None for uninitialized data of `size` bytes.
    pub data: Option<Vec<u8>>,
    pub size: u32,
    pub align: u64,
    pub characteristics: u32,
    pub relocations: Vec<Relocation>,
}

pub struct Relocation {
    pub offset: u32,
    pub symbol: u32,
    pub kind: u16,
}

pub struct Symbol {
    pub name: String,
    pub value: u32,
    /// 1-based section number.
    pub section: i16,
    pub class: u8,
    pub function: bool,
}

/// log2(align) + 1 in bits 20..23, capped at 8192 bytes.
fn align_flags(align: u64) -> u32 {
    let align = align.clamp(1, 8192);
    (align.trailing_zeros() + 1) << 20
}

struct Strings {
    data: Vec<u8>,
    offsets: HashMap<String, u32>,
}

impl Strings {
    fn new() -> Strings {
        Strings {
            data: vec![0; 4],
            offsets: HashMap::new(),
        }
    }

    fn offset(&mut self, s: &str) -> u32 {
        if let Some(&o) = self.offsets.get(s) {
            return o;
        }
        let o = self.data.len() as u32;
        self.data.extend_from_slice(s.as_bytes());
        self.data.push(0);
        self.offsets.insert(s.to_string(), o);
        o
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.data.len() as u32;
        self.data[..4].copy_from_slice(&len.to_le_bytes());
        self.data
    }
}

/// The symbol table index of section `i`'s (0-based) section symbol: each
/// takes two entries (the symbol and its auxiliary record).
pub fn section_symbol(i: usize) -> u32 {
    2 * i as u32
}

/// Writes the object: section symbols first, then `symbols`, whose
/// indexes start at 2 * sections.len().
pub fn write(sections: &[Section], symbols: &[Symbol]) -> Vec<u8> {
    let mut strings = Strings::new();
    let header_len = 20 + 40 * sections.len();
    let mut out = vec![0u8; header_len];
    let mut headers = Vec::new();
    for s in sections {
        let raw_at = if s.data.is_some() {
            out.len() as u32
        } else {
            0
        };
        if let Some(d) = &s.data {
            out.extend_from_slice(d);
        }
        let mut characteristics = s.characteristics | align_flags(s.align);
        let reloc_at = if s.relocations.is_empty() {
            0
        } else {
            out.len() as u32
        };
        let overflow = s.relocations.len() >= 0xFFFF;
        if overflow {
            characteristics |= IMAGE_SCN_LNK_NRELOC_OVFL;
            // The first relocation holds the count, itself included.
            out.extend_from_slice(&(s.relocations.len() as u32 + 1).to_le_bytes());
            out.extend_from_slice(&[0; 6]);
        }
        for r in &s.relocations {
            out.extend_from_slice(&r.offset.to_le_bytes());
            out.extend_from_slice(&r.symbol.to_le_bytes());
            out.extend_from_slice(&r.kind.to_le_bytes());
        }
        let nrelocs = if overflow {
            0xFFFF
        } else {
            s.relocations.len() as u16
        };
        headers.push((raw_at, reloc_at, nrelocs, characteristics));
    }
    let symtab_at = out.len() as u32;
    let mut count = 0u32;
    let name_field = |name: &str, strings: &mut Strings| -> [u8; 8] {
        let mut f = [0u8; 8];
        if name.len() <= 8 {
            f[..name.len()].copy_from_slice(name.as_bytes());
        } else {
            f[4..].copy_from_slice(&strings.offset(name).to_le_bytes());
        }
        f
    };
    for (i, s) in sections.iter().enumerate() {
        out.extend_from_slice(&name_field(&s.name, &mut strings));
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&((i + 1) as i16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.push(IMAGE_SYM_CLASS_STATIC);
        out.push(1);
        let mut aux = [0u8; 18];
        aux[..4].copy_from_slice(&s.size.to_le_bytes());
        let n = s.relocations.len().min(0xFFFF) as u16;
        aux[4..6].copy_from_slice(&n.to_le_bytes());
        aux[12..14].copy_from_slice(&((i + 1) as u16).to_le_bytes());
        out.extend_from_slice(&aux);
        count += 2;
    }
    for sym in symbols {
        out.extend_from_slice(&name_field(&sym.name, &mut strings));
        out.extend_from_slice(&sym.value.to_le_bytes());
        out.extend_from_slice(&sym.section.to_le_bytes());
        out.extend_from_slice(&(if sym.function { 0x20u16 } else { 0 }).to_le_bytes());
        out.push(sym.class);
        out.push(0);
        count += 1;
    }
    // Section names go to the string table too, so finish headers now.
    let mut section_names = Vec::new();
    for s in sections {
        section_names.push(if s.name.len() <= 8 {
            let mut f = [0u8; 8];
            f[..s.name.len()].copy_from_slice(s.name.as_bytes());
            f
        } else {
            let text = format!("/{}", strings.offset(&s.name));
            let mut f = [0u8; 8];
            f[..text.len()].copy_from_slice(text.as_bytes());
            f
        });
    }
    out.extend_from_slice(&strings.finish());

    out[0..2].copy_from_slice(&IMAGE_FILE_MACHINE_AMD64.to_le_bytes());
    out[2..4].copy_from_slice(&(sections.len() as u16).to_le_bytes());
    out[8..12].copy_from_slice(&symtab_at.to_le_bytes());
    out[12..16].copy_from_slice(&count.to_le_bytes());
    for (i, (s, (raw_at, reloc_at, nrelocs, characteristics))) in
        sections.iter().zip(headers).enumerate()
    {
        let h = 20 + 40 * i;
        out[h..h + 8].copy_from_slice(&section_names[i]);
        out[h + 16..h + 20].copy_from_slice(&s.size.to_le_bytes());
        out[h + 20..h + 24].copy_from_slice(&raw_at.to_le_bytes());
        out[h + 24..h + 28].copy_from_slice(&reloc_at.to_le_bytes());
        out[h + 32..h + 34].copy_from_slice(&nrelocs.to_le_bytes());
        out[h + 36..h + 40].copy_from_slice(&characteristics.to_le_bytes());
    }
    out
}
