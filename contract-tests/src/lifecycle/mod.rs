//! Random user lifecycles against a target, checked step by step against the reference model
//! and shrunk to the shortest sequence that still fails.
//!
//! proptest-state-machine generates the sequences from [`crate::model`] and shrinks them;
//! [`session::Session`] turns each operation into HTTP calls and checks the answers. Every case
//! starts clean: a fresh embedded server, or `/__admin/reset` on a running mock. In differential
//! mode each sequence runs on two targets and the first step where they answer differently is
//! reported.

pub mod session;
pub mod targets;

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use proptest::test_runner::{
    Config as ProptestConfig, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError,
    TestRng, TestRunner,
};

use crate::model::{self, Capabilities, ModelState, Sequence, Transition};
pub use session::{Endpoint, Exchange, Mismatch, Session};

/// Something that can hand out a clean target for each case.
pub trait CaseTarget {
    /// What the target can do (decides which operations are generated).
    fn capabilities(&self) -> Capabilities;
    /// A clean target for the next case.
    fn begin_case(&mut self) -> Result<Endpoint, String>;
    /// Called after each case; sandboxes deactivate what the case created.
    fn end_case(&mut self, session: &Session) {
        let _ = session;
    }
}

/// How many cases, how long, which seed.
#[derive(Clone, Debug)]
pub struct LifecycleOptions {
    /// Cases to generate.
    pub cases: u32,
    /// Longest sequence of operations in a case.
    pub max_steps: usize,
    /// Seed of the generator; the same seed replays the same cases.
    pub seed: u64,
    /// Where proptest records failing seeds so they are replayed first next time.
    pub regressions: Option<&'static str>,
}

/// How a run ended.
#[derive(Debug)]
pub struct LifecycleReport {
    /// Cases executed, shrinking runs included.
    pub cases_run: u32,
    /// The seed that reproduces this run.
    pub seed: u64,
    /// The minimal failing sequence, rendered for people, if any case failed.
    pub failure: Option<String>,
}

impl LifecycleReport {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Runs `options.cases` random lifecycles against `target`, or against `target` and
/// `compare` side by side in differential mode.
pub fn run(
    target: &mut dyn CaseTarget,
    compare: Option<&mut dyn CaseTarget>,
    options: &LifecycleOptions,
) -> LifecycleReport {
    let mut capabilities = target.capabilities();
    if let Some(other) = &compare {
        let theirs = other.capabilities();
        capabilities.documented &= theirs.documented;
        capabilities.user_with_records &= theirs.user_with_records;
        capabilities.controllable_clock &= theirs.controllable_clock;
        capabilities.authorization_code &= theirs.authorization_code;
        capabilities.crux &= theirs.crux;
    }
    let config = ProptestConfig {
        cases: options.cases,
        failure_persistence: options
            .regressions
            .map(|path| Box::new(FileFailurePersistence::Direct(path)) as Box<_>),
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(options.seed)),
    );
    let strategy = model::sequential(capabilities, options.max_steps);
    let cases_run = Cell::new(0u32);
    let target = RefCell::new(target);
    let compare = RefCell::new(compare);
    let result = runner.run(&strategy, |sequence: Sequence| {
        cases_run.set(cases_run.get() + 1);
        let mut target = target.borrow_mut();
        let mut compare = compare.borrow_mut();
        match compare.as_deref_mut() {
            Some(other) => run_differential(&mut **target, other, sequence),
            None => run_case(&mut **target, sequence),
        }
        .map_err(TestCaseError::fail)
    });
    let failure = match result {
        Ok(()) => None,
        Err(TestError::Fail(reason, (state, transitions, _))) => {
            let target = target.into_inner();
            let mut compare = compare.into_inner();
            let (transitions, reason) = minimize(
                state,
                transitions,
                reason.message().to_owned(),
                |sequence| {
                    cases_run.set(cases_run.get() + 1);
                    match compare.as_deref_mut() {
                        Some(other) => run_differential(&mut *target, other, sequence),
                        None => run_case(&mut *target, sequence),
                    }
                },
            );
            Some(render_failure(&reason, &transitions, options.seed))
        }
        Err(TestError::Abort(reason)) => Some(format!("the run was aborted: {reason}")),
    };
    LifecycleReport {
        cases_run: cases_run.get(),
        seed: options.seed,
        failure,
    }
}

/// One case on one target, checked against the model after every step.
fn run_case(
    target: &mut dyn CaseTarget,
    (state, transitions, seen): Sequence,
) -> Result<(), String> {
    let endpoint = target.begin_case()?;
    let mut session = Session::begin(endpoint, case_tag())?;
    let mut state = state;
    let mut outcome = Ok(());
    for (step, transition) in transitions.iter().enumerate() {
        if let Some(seen) = &seen {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        let checked = session.perform(&state, transition).and_then(|_| {
            state = state.clone().apply(transition);
            session.check_invariants(&state)
        });
        if let Err(mismatch) = checked {
            outcome = Err(render_mismatch(step, transition, &mismatch));
            break;
        }
    }
    target.end_case(&session);
    outcome
}

/// One case on two targets; fails at the first step whose statuses differ.
fn run_differential(
    first: &mut dyn CaseTarget,
    second: &mut dyn CaseTarget,
    (state, transitions, seen): Sequence,
) -> Result<(), String> {
    let mut left = Session::begin(first.begin_case()?, case_tag())?;
    let mut right = Session::begin(second.begin_case()?, case_tag())?;
    let mut state = state;
    let mut outcome = Ok(());
    for (step, transition) in transitions.iter().enumerate() {
        // proptest-state-machine shrinks away steps it believes were never run: count them.
        if let Some(seen) = &seen {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        let statuses = |result: &Result<Vec<Exchange>, Mismatch>| match result {
            Ok(exchanges) => exchanges.iter().map(|e| e.status).collect::<Vec<_>>(),
            Err(mismatch) => mismatch.exchanges.iter().map(|e| e.status).collect(),
        };
        let a = left.perform(&state, transition);
        let b = right.perform(&state, transition);
        if statuses(&a) != statuses(&b) {
            outcome = Err(format!(
                "step {}: {transition}\n  first target answered {:?}, second target answered {:?}",
                step + 1,
                statuses(&a),
                statuses(&b)
            ));
            break;
        }
        state = state.apply(transition);
    }
    first.end_case(&left);
    second.end_case(&right);
    outcome
}

fn render_mismatch(step: usize, transition: &Transition, mismatch: &Mismatch) -> String {
    let mut text = format!("step {}: {transition}\n  {}", step + 1, mismatch.summary);
    for exchange in &mismatch.exchanges {
        let _ = write!(text, "\n  request:  {}", exchange.request);
        if let Some(body) = &exchange.body {
            let _ = write!(text, " {body}");
        }
        let _ = write!(
            text,
            "\n  answered: {} {}",
            exchange.status, exchange.response
        );
    }
    text
}

/// proptest-state-machine deletes steps before it simplifies them, so a step that shrank
/// (`delete user #3` to `delete user #0`) can leave earlier steps it no longer needs. This
/// finishes the job: drop one step at a time while the sequence stays valid and still fails.
fn minimize(
    initial: ModelState,
    mut transitions: Vec<Transition>,
    mut reason: String,
    mut still_fails: impl FnMut(Sequence) -> Result<(), String>,
) -> (Vec<Transition>, String) {
    let mut index = 0;
    while index < transitions.len() {
        let mut candidate = transitions.clone();
        candidate.remove(index);
        let valid = candidate
            .iter()
            .try_fold(initial.clone(), |state, t| {
                state.allows(t).then(|| state.apply(t))
            })
            .is_some();
        match valid.then(|| still_fails((initial.clone(), candidate.clone(), None))) {
            Some(Err(message)) => {
                transitions = candidate;
                reason = message;
            }
            _ => index += 1,
        }
    }
    (transitions, reason)
}

fn render_failure(reason: &str, transitions: &[Transition], seed: u64) -> String {
    let mut text = format!("minimal failing sequence ({} steps):\n", transitions.len());
    for (i, transition) in transitions.iter().enumerate() {
        let _ = writeln!(text, "  {:>2}. {transition}", i + 1);
    }
    let _ = write!(text, "failure at {reason}\nreplay with --seed {seed}");
    text
}

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(i as u64)
                .to_le_bytes(),
        );
    }
    bytes
}

fn case_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}
