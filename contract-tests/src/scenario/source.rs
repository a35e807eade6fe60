//! Where a run's scenarios come from: the file or directory the user names, else `./scenarios`
//! when the working directory has one (the repository root, a team's own checkout), else the
//! scenarios built into the harness, so an installed `procore-contract run` works anywhere.

use std::path::{Path, PathBuf};

use super::Scenario;
use crate::error::{HarnessError, Result};

/// The environment variable that names the scenarios when `--scenarios` is not given.
pub const SCENARIOS_ENV: &str = "PROCORE_CONTRACT_SCENARIOS";

/// The directory looked for in the working directory when no scenarios are named.
pub const DEFAULT_DIR: &str = "scenarios";

/// The shipped `scenarios/*.json`, compiled in by the build script as (file name, contents).
const BUILT_IN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/shipped_scenarios.rs"));

/// Where the scenarios of a run are read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioSource {
    /// A file or directory named by `--scenarios` or [`SCENARIOS_ENV`]; it must exist.
    Given(PathBuf),
    /// `./scenarios`, found in the working directory.
    WorkingDirectory,
    /// The scenarios compiled into the harness.
    BuiltIn,
}

impl ScenarioSource {
    /// `given` when the user named something, else `./scenarios` if the working directory has
    /// it, else the built-in scenarios.
    pub fn resolve(given: Option<PathBuf>) -> Self {
        match given {
            Some(path) => ScenarioSource::Given(path),
            None if Path::new(DEFAULT_DIR).exists() => ScenarioSource::WorkingDirectory,
            None => ScenarioSource::BuiltIn,
        }
    }

    /// The scenarios, validated. A named path that does not exist is an error naming it, the
    /// working directory it was resolved against, and how to point elsewhere.
    pub fn load(&self) -> Result<Vec<Scenario>> {
        match self {
            ScenarioSource::Given(path) => {
                if !path.exists() {
                    return Err(HarnessError::missing_path(
                        format!("--scenarios (or {SCENARIOS_ENV})"),
                        path,
                        format!(
                            "give a scenario file or a directory of them; with neither, \
                             procore-contract runs ./{DEFAULT_DIR} if there is one, else the {} \
                             scenarios built into it",
                            BUILT_IN.len()
                        ),
                    ));
                }
                Ok(Scenario::load_path(path)?)
            }
            ScenarioSource::WorkingDirectory => Ok(Scenario::load_path(Path::new(DEFAULT_DIR))?),
            ScenarioSource::BuiltIn => Ok(built_in()?),
        }
    }

    /// Names the source for people (`no scenarios to run in ...`, the built-in note).
    pub fn describe(&self) -> String {
        match self {
            ScenarioSource::Given(path) => path.display().to_string(),
            ScenarioSource::WorkingDirectory => format!("./{DEFAULT_DIR}"),
            ScenarioSource::BuiltIn => format!(
                "the {} scenarios built into procore-contract",
                BUILT_IN.len()
            ),
        }
    }
}

/// The shipped scenarios as compiled into the harness, each named
/// `<built-in>/scenarios/<file name>` in reports and errors.
pub fn built_in() -> Result<Vec<Scenario>, super::schema::LoadError> {
    BUILT_IN
        .iter()
        .map(|(name, text)| Scenario::parse(text, &format!("<built-in>/{DEFAULT_DIR}/{name}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_scenarios_are_the_shipped_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let on_disk = Scenario::load_dir(&dir).unwrap();
        let built_in = built_in().unwrap();
        let names = |scenarios: &[Scenario]| -> Vec<String> {
            scenarios.iter().map(|s| s.name.clone()).collect()
        };
        assert_eq!(names(&built_in), names(&on_disk));
        for (compiled, file) in built_in.iter().zip(&on_disk) {
            assert_eq!(
                compiled.file.file_name(),
                file.file.file_name(),
                "same order as a directory run"
            );
            assert_eq!(compiled.steps.len(), file.steps.len(), "{}", file.name);
        }
    }
}
