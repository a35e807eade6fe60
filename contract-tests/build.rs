//! Compiles the shipped scenario files (`scenarios/*.json` at the repository root) into the
//! harness, so `procore-contract run` has them wherever it is started from, installed binary
//! included. The generated file is a slice of `(file name, contents)` pairs, each an
//! `include_str!` of the file itself, sorted by file name as a directory run sorts them.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = manifest.join("../scenarios");
    // A directory here makes cargo rerun the script when any file below it changes.
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the shipped scenarios at {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut code = String::from("&[\n");
    for file in files {
        let name = file.file_name().expect("a file").to_string_lossy();
        let absolute = file
            .canonicalize()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let _ = writeln!(
            code,
            "    ({:?}, include_str!({:?})),",
            name,
            absolute.to_string_lossy()
        );
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("shipped_scenarios.rs"), code).expect("OUT_DIR is writable");
}
