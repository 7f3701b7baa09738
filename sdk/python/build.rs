//! Writes each generate option's line into the docstrings of `Client.generate` and `Client.submit`
//! in the stub (`python/threedgpt/_native.pyi`) from the option table, so the stub cannot drift
//! from what the daemon checks. The lines between `Options:` and the docstring's end are replaced;
//! the file is written only when they changed.

use std::path::Path;

use threedgpt_options as table;

fn main() {
    let stub = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/threedgpt/_native.pyi");
    println!("cargo::rerun-if-changed={}", stub.display());
    let text = std::fs::read_to_string(&stub).unwrap_or_else(|error| panic!("{}: {error}", stub.display()));
    let indent = "        ";
    let lines: Vec<String> = table::ALL
        .iter()
        .flat_map(|spec| {
            let summary = spec.summary();
            let (first, rest) = summary.split_at(1);
            [
                format!("{indent}    {}: {}.", spec.name, spec.description),
                format!("{indent}        {}{rest}.", first.to_uppercase()),
            ]
        })
        .collect();
    let mut out = Vec::new();
    let mut skipping = false;
    for line in text.lines() {
        if skipping {
            if line.trim() == "\"\"\"" {
                out.extend(lines.iter().cloned());
                out.push(line.to_owned());
                skipping = false;
            }
            continue;
        }
        out.push(line.to_owned());
        if line == format!("{indent}Options:") {
            skipping = true;
        }
    }
    assert!(!skipping, "{}: an `Options:` block has no closing \"\"\"", stub.display());
    let mut rendered = out.join("\n");
    rendered.push('\n');
    if rendered != text {
        std::fs::write(&stub, rendered).unwrap_or_else(|error| panic!("{}: {error}", stub.display()));
    }
}
