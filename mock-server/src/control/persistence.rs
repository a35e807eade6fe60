//! The state file: the whole state as a fixture document, replaced atomically.
//!
//! Saves take turns (one lock for the process), and each one writes the state as it is once
//! its turn comes to a temporary file of its own beside the target, flushes it to disk, then
//! renames it over the target. So a save that returns `Ok` has left a complete file at least as
//! new as the moment it was asked for (a later save can only replace it with a newer one), and
//! a kill at any instant leaves either the old file or a new one, whole; at worst a temporary
//! file of the interrupted save remains beside it.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// Held for a whole save. Without it, overlapping saves wrote into each other's temporary
/// file and renamed it away under one another.
static SAVING: Mutex<()> = Mutex::new(());

/// Makes each temporary name unique within the process (the process id covers the rest).
static TEMPORARY_NUMBER: AtomicU64 = AtomicU64::new(0);

/// Writes the document that `write` produces (the state, as a fixture) to `path` atomically.
/// Blocks: call it off the async workers.
///
/// The writer is a closure so this module stays a leaf: it knows files, not the state's shape.
pub fn save(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let _turn = SAVING.lock();
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} names no file", path.display())))?;
    let temporary = directory.join(format!(
        ".{}.{}-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        TEMPORARY_NUMBER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_synced(&temporary, write).and_then(|()| fs::rename(&temporary, path));
    if let Err(err) = written {
        let _ = fs::remove_file(&temporary);
        return Err(err);
    }
    // Make the rename itself durable where the platform allows syncing a directory.
    if let Ok(dir) = File::open(directory) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Writes the state document to a new file at `temporary` and flushes it to disk.
fn write_synced(
    temporary: &PathBuf,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut file = BufWriter::new(File::create_new(temporary)?);
    write(&mut file)?;
    file.flush()?;
    file.into_inner()
        .map_err(|err| err.into_error())?
        .sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saving_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("procore-mock-persist-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        fs::write(&path, "old").unwrap();
        save(&path, |out| out.write_all(b"{\"new\": true}")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"new\": true}");
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "only the state file remains"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
