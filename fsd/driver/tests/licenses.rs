//! No crate linked into a program of the workspace has a licence that
//! cannot go with GPL-2.0-only (what linking the kernel makes of them):
//! the normal dependencies reachable from every workspace member (build
//! scripts' and tests' own dependencies are not linked in), read from
//! `cargo metadata`, each with a licence expression that has a choice made
//! only of licences GPL-2.0 programs may include. Apache-2.0 alone and
//! MPL-2.0 may not (the FSF's list of GPL-compatible licences). The check
//! itself is tried on such expressions first, so it is seen to refuse.
use std::collections::BTreeSet;
use std::process::Command;

/// Licences a GPL-2.0-only program may include code under.
const FITS: &[&str] = &[
    "MIT",
    "MIT-0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "Unlicense",
    "0BSD",
    "CC0-1.0",
    "BSL-1.0",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "GPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "LGPL-2.1-or-later",
];

/// Whether SPDX-like expression `e` (OR, AND, parentheses; `/` as the old
/// crates' OR) offers a choice of licences that all fit.
fn fits(e: &str) -> bool {
    let spaced = e
        .replace('/', " OR ")
        .replace('(', " ( ")
        .replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut at = 0;
    let ok = or(&tokens, &mut at);
    ok && at == tokens.len()
}

fn or(t: &[&str], at: &mut usize) -> bool {
    let mut any = and(t, at);
    while t.get(*at) == Some(&"OR") {
        *at += 1;
        any |= and(t, at);
    }
    any
}

fn and(t: &[&str], at: &mut usize) -> bool {
    let mut all = atom(t, at);
    while t.get(*at) == Some(&"AND") {
        *at += 1;
        all &= atom(t, at);
    }
    all
}

fn atom(t: &[&str], at: &mut usize) -> bool {
    match t.get(*at) {
        Some(&"(") => {
            *at += 1;
            let inner = or(t, at);
            if t.get(*at) == Some(&")") {
                *at += 1;
                inner
            } else {
                false
            }
        }
        Some(name) => {
            *at += 1;
            FITS.contains(name)
        }
        None => false,
    }
}

#[test]
fn the_checker_refuses_what_gpl2_cannot_include() {
    assert!(fits("MIT OR Apache-2.0"));
    assert!(fits("MIT/Apache-2.0"));
    assert!(fits("(MIT OR Apache-2.0) AND Unicode-3.0"));
    assert!(!fits("Apache-2.0"));
    assert!(!fits("MPL-2.0"));
    assert!(!fits("Apache-2.0 AND MIT"));
    assert!(!fits("(MIT OR Apache-2.0) AND MPL-2.0"));
    assert!(!fits(""));
}

#[test]
fn linked_crates_fit_gpl2_only() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members: BTreeSet<&str> = m["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let nodes = m["resolve"]["nodes"].as_array().unwrap();
    let node = |id: &str| nodes.iter().find(|n| n["id"] == id).unwrap();
    // Normal dependencies only, from every member.
    let mut linked = BTreeSet::new();
    let mut todo: Vec<&str> = members.iter().copied().collect();
    while let Some(id) = todo.pop() {
        for dep in node(id)["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap();
            if normal && linked.insert(dep_id) {
                todo.push(dep_id);
            }
        }
    }
    let mut refused = Vec::new();
    for p in m["packages"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        if !linked.contains(id) || members.contains(id) {
            continue;
        }
        let licence = p["license"].as_str().unwrap_or("");
        if !fits(licence) {
            refused.push(format!("{} {}: {licence:?}", p["name"], p["version"]));
        }
    }
    assert!(
        refused.is_empty(),
        "licences GPL-2.0-only cannot include: {refused:#?}"
    );
    assert!(
        linked.len() > 10,
        "the graph was read: {} crates",
        linked.len()
    );
}
