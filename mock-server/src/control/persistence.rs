//! The state file: the whole state as a fixture document, replaced atomically.
//!
//! The new state is written to a temporary file beside the target, flushed to disk, then
//! renamed over it: a kill at any moment leaves either the old file or the new one, whole.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// Writes `document` (the state, as a fixture) to `path` atomically.
pub fn save(path: &Path, document: &impl Serialize) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(document).map_err(std::io::Error::other)?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} names no file", path.display())))?;
    let temporary = directory.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let mut file = File::create(&temporary)?;
    file.write_all(&json)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, path)?;
    // Make the rename itself durable where the platform allows syncing a directory.
    if let Ok(dir) = File::open(directory) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixture;

    #[test]
    fn saving_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("procore-mock-persist-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        fs::write(&path, "old").unwrap();
        let fixture = Fixture::default_data();
        save(&path, &fixture).unwrap();
        let saved = Fixture::from_path(&path).unwrap();
        assert_eq!(saved.companies.len(), fixture.companies.len());
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "only the state file remains"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
