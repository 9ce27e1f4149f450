//! Who may do what: the devices' DACL and who the caller is (`rights`),
//! and callers as Linux users (`id_map`).
pub mod id_map;
pub mod rights;
