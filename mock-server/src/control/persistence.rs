//! The state file: the whole state as a fixture document, replaced atomically.
//!
//! Saves take turns (one lock for the process), and each one writes the state as it is once
//! its turn comes to a temporary file of its own beside the target, flushes it to disk, then
//! renames it over the target. So a save that returns `Ok` has left a complete file at least as
//! new as the moment it was asked for (a later save can only replace it with a newer one), and
//! a kill at any instant leaves either the old file or a new one, whole; at worst a temporary
//! file of the interrupted save remains beside it, which [`remove_abandoned_temporaries`]
//! clears at the next start.

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
    let temporary = directory.join(temporary_name(
        &file_name.to_string_lossy(),
        std::process::id(),
        TEMPORARY_NUMBER.fetch_add(1, Ordering::Relaxed),
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

/// The name of the `number`th temporary file process `pid` writes for the state file named
/// `state_name`: hidden, beside it, and naming its writer so a later start can tell whose it is.
fn temporary_name(state_name: &str, pid: u32, number: u64) -> String {
    format!(".{state_name}.{pid}-{number}.tmp")
}

/// The writer's process id when `name` is exactly a [`temporary_name`] of the state file
/// `state_name`; `None` for any other name (another state file's temporaries included).
fn temporary_writer(name: &str, state_name: &str) -> Option<u32> {
    let middle = name
        .strip_prefix('.')?
        .strip_prefix(state_name)?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?;
    let (pid, number) = middle.split_once('-')?;
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(number) {
        return None;
    }
    number.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// What [`remove_abandoned_temporaries`] found beside a state file.
#[derive(Debug, Default)]
pub struct Leftovers {
    /// Temporaries whose writer is gone, now deleted.
    pub removed: Vec<PathBuf>,
    /// Temporaries whose writer may still be running (a live process, or a platform where
    /// that cannot be told): left alone, since a save may be under way in them.
    pub kept: Vec<PathBuf>,
    /// Temporaries of a gone writer that could not be deleted, with why.
    pub failed: Vec<(PathBuf, std::io::Error)>,
}

/// Deletes the temporary files that saves of the state file at `path` began and never
/// renamed, because their process was killed mid-save. Such a file was never acknowledged
/// as saved (a save answers only after its rename), so nothing is lost with it.
///
/// Only files named exactly as [`save`] names temporaries for this state file are touched,
/// and only when the process that wrote one is gone: another mock sharing the state file
/// may be saving right now. Blocks: call it off the async workers.
pub fn remove_abandoned_temporaries(path: &Path) -> std::io::Result<Leftovers> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let Some(state_name) = path.file_name() else {
        return Ok(Leftovers::default());
    };
    let state_name = state_name.to_string_lossy();
    let mut leftovers = Leftovers::default();
    for entry in fs::read_dir(directory)? {
        let entry = entry?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| temporary_writer(name, &state_name))
        else {
            continue;
        };
        let temporary = entry.path();
        if !writer_is_gone(pid) {
            leftovers.kept.push(temporary);
            continue;
        }
        match fs::remove_file(&temporary) {
            Ok(()) => leftovers.removed.push(temporary),
            // Another starting mock removed it first.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => leftovers.failed.push((temporary, err)),
        }
    }
    Ok(leftovers)
}

/// Whether process `pid` has certainly exited, so a temporary it named is abandoned. Linux
/// answers from `/proc`: no `/proc/<pid>` means no such process (this one's own id is always
/// alive, so a mock never deletes its own saves). A process id reused since by an unrelated
/// process keeps the file, which errs on the safe side.
#[cfg(target_os = "linux")]
fn writer_is_gone(pid: u32) -> bool {
    let proc = Path::new("/proc");
    // Without a mounted /proc nothing can be told.
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

/// Elsewhere the liveness of a process cannot be told without platform calls this crate
/// does not make, so no temporary is ever taken for abandoned: they are reported instead.
#[cfg(not(target_os = "linux"))]
fn writer_is_gone(_pid: u32) -> bool {
    false
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

    #[test]
    fn only_exact_temporary_names_of_the_state_file_name_a_writer() {
        let state = "state.json";
        let name = temporary_name(state, 4242, 7);
        assert_eq!(name, ".state.json.4242-7.tmp");
        assert_eq!(temporary_writer(&name, state), Some(4242));
        for other in [
            "state.json",
            ".state.json.4242-7.tmp.bak",
            "state.json.4242-7.tmp",
            ".state.json.4242-7",
            ".state.json.4242.tmp",
            ".state.json.-7.tmp",
            ".state.json.4242-.tmp",
            ".state.json.42a-7.tmp",
            ".state.json.+42-7.tmp",
            ".state.json.4242-7-1.tmp",
            ".state.json.x.4242-7.tmp",
            ".other.json.4242-7.tmp",
            ".state.json.99999999999-7.tmp",
        ] {
            assert_eq!(temporary_writer(other, state), None, "{other}");
        }
        // Another state file whose name extends this one's.
        assert_eq!(
            temporary_writer(&temporary_name("state.json.1-2", 5, 0), state),
            None
        );
    }
}
