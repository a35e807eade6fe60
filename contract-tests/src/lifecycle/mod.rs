//! Random user lifecycles against a target, checked step by step against the reference model
//! and shrunk to the shortest sequence that still fails.
//!
//! proptest-state-machine generates the sequences from [`crate::model`] and shrinks them;
//! [`session::Session`] turns each operation into HTTP calls and checks the answers. Whether a
//! case starts from the mock's loaded fixture is the target's reset policy; a session records
//! what existed before it and checks only what the case changed, so cases also run on a mock
//! that is not reset, and on a sandbox (where each case deactivates the users it created). On a
//! mock, each case also registers a webhook hook on a receiver of its own and checks, after
//! every step, that the deliveries are the events the model predicts. In differential mode each sequence runs on two targets and the first step where they answer
//! differently is reported.

pub mod session;

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use proptest::test_runner::{
    Config as ProptestConfig, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError,
    TestRng, TestRunner,
};

use crate::error::HarnessError;
use crate::model::{self, Capabilities, ModelState, Sequence, Transition};
use crate::target::Target;
pub use session::{Exchange, Mismatch, Session, UserIds};

/// A target with the runtime that drives it and a count of the cases begun on it.
struct CaseTarget<'a> {
    target: &'a Target,
    runtime: &'a tokio::runtime::Runtime,
    cases: Cell<usize>,
}

impl<'a> CaseTarget<'a> {
    /// What the target can do, which decides the operations generated.
    fn capabilities(&self) -> Capabilities {
        let powers = self.runtime.block_on(self.target.powers());
        let with_records = powers.admin
            && Session::begin(self.target, self.runtime, "probe".to_owned())
                .is_ok_and(|s| s.has_user_with_records());
        Capabilities {
            documented: powers.admin && powers.profile.as_deref() != Some("official"),
            user_with_records: with_records,
            controllable_clock: powers.admin,
            authorization_code: self.target.admin().is_some(),
            crux: powers.crux,
        }
    }

    /// A session for the next case, after a reset if the policy asks for one.
    fn begin_case(&self) -> Result<Session<'a>, CaseFailure> {
        let index = self.cases.get();
        self.cases.set(index + 1);
        self.runtime.block_on(self.target.reset_before(index))?;
        let mut session = Session::begin(self.target, self.runtime, case_tag())?;
        session.watch_webhooks()?;
        Ok(session)
    }

    /// After a case: remove its hook; on a target that cannot be reset, deactivate what the
    /// case created.
    fn end_case(&self, session: &mut Session) {
        session.unwatch_webhooks();
        if self.target.admin().is_none() {
            session.deactivate_created();
        }
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
    /// Why the run failed, if it did: the minimal failing sequence, or why no case could run.
    pub failure: Option<LifecycleFailure>,
}

/// Why a lifecycle run failed; its `Display` is the report for people.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleFailure {
    /// No runtime could be started to drive the targets.
    #[error("cannot start a runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// proptest gave up before finding a failure (too many rejected cases).
    #[error("the run was aborted: {0}")]
    Aborted(String),
    /// A case failed: the shortest sequence found that still fails, and how.
    #[error("{}", render_failure(cause, transitions, *seed))]
    Case {
        /// The minimal failing sequence.
        transitions: Vec<Transition>,
        /// How its last run failed.
        cause: CaseFailure,
        /// The seed that replays the run.
        seed: u64,
    },
}

/// How one case failed, at which step.
#[derive(Debug, thiserror::Error)]
pub enum CaseFailure {
    /// The case could not start: a reset, discovery or its webhook receiver failed.
    #[error(transparent)]
    Setup(#[from] HarnessError),
    /// A step's answers are not what the model predicts.
    #[error("{}", render_mismatch(*step, transition, mismatch))]
    Mismatch {
        /// 0-based step index.
        step: usize,
        /// The operation.
        transition: Transition,
        /// What was expected and what came back.
        mismatch: Mismatch,
    },
    /// Differential mode: the step's user exists on one target only.
    #[error("step {}: {transition}\n  the user exists on the {has} target but not on the {lacks}", step + 1)]
    OneSided {
        /// 0-based step index.
        step: usize,
        /// The operation.
        transition: Transition,
        /// `first` or `second`: the target that has the user.
        has: &'static str,
        /// The other.
        lacks: &'static str,
    },
    /// Differential mode: the targets answered the step with different statuses.
    #[error("step {}: {transition}\n  first target answered {first:?}, second target answered {second:?}", step + 1)]
    Differs {
        /// 0-based step index.
        step: usize,
        /// The operation.
        transition: Transition,
        /// The first target's statuses, in order.
        first: Vec<u16>,
        /// The second target's.
        second: Vec<u16>,
    },
}

impl LifecycleReport {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Runs `options.cases` random lifecycles against `target`, or against `target` and
/// `compare` side by side in differential mode. Call it outside any tokio runtime: the
/// cases are synchronous (proptest) and drive the targets on a runtime of their own.
pub fn run(
    target: &Target,
    compare: Option<&Target>,
    options: &LifecycleOptions,
) -> LifecycleReport {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            return LifecycleReport {
                cases_run: 0,
                seed: options.seed,
                failure: Some(LifecycleFailure::Runtime(err)),
            }
        }
    };
    let first = CaseTarget {
        target,
        runtime: &runtime,
        cases: Cell::new(0),
    };
    let second = compare.map(|target| CaseTarget {
        target,
        runtime: &runtime,
        cases: Cell::new(0),
    });
    let mut capabilities = first.capabilities();
    if let Some(other) = &second {
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
    let one_case = |sequence: Sequence| {
        cases_run.set(cases_run.get() + 1);
        match &second {
            Some(other) => run_differential(&first, other, sequence),
            None => run_case(&first, sequence),
        }
    };
    // proptest keeps a failure as text; the typed one is kept here. Shrinking reports the
    // last sequence that failed, so the last failure kept is the reported sequence's.
    let last_failure: RefCell<Option<CaseFailure>> = RefCell::new(None);
    let result = runner.run(&strategy, |sequence: Sequence| {
        one_case(sequence).map_err(|failure| {
            let message = failure.to_string();
            *last_failure.borrow_mut() = Some(failure);
            TestCaseError::fail(message)
        })
    });
    let failure = match result {
        Ok(()) => None,
        Err(TestError::Fail(reason, (state, transitions, _))) => match last_failure.take() {
            Some(cause) => {
                let (transitions, cause) = minimize(state, transitions, cause, one_case);
                Some(LifecycleFailure::Case {
                    transitions,
                    cause,
                    seed: options.seed,
                })
            }
            // Every failing case is kept above; proptest failing without one is its own doing.
            None => Some(LifecycleFailure::Aborted(reason.message().to_owned())),
        },
        Err(TestError::Abort(reason)) => Some(LifecycleFailure::Aborted(reason.to_string())),
    };
    LifecycleReport {
        cases_run: cases_run.get(),
        seed: options.seed,
        failure,
    }
}

/// One case on one target, checked against the model after every step.
fn run_case(target: &CaseTarget, (state, transitions, seen): Sequence) -> Result<(), CaseFailure> {
    let mut session = target.begin_case()?;
    let mut state = state;
    let mut outcome = Ok(());
    for (step, transition) in transitions.iter().enumerate() {
        if let Some(seen) = &seen {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        let events = state.events(transition);
        let checked = session
            .perform(&state, transition)
            .and_then(|_| {
                state = state.clone().apply(transition);
                session.check_invariants(&state)
            })
            .and_then(|()| session.check_deliveries(&events));
        if let Err(mismatch) = checked {
            outcome = Err(CaseFailure::Mismatch {
                step,
                transition: transition.clone(),
                mismatch,
            });
            break;
        }
    }
    target.end_case(&mut session);
    outcome
}

/// One case on two targets; fails at the first step whose statuses differ. A step on a model
/// user that neither target created (both refused its create alike) is skipped on both; one
/// that only one target created is a difference.
fn run_differential(
    first: &CaseTarget,
    second: &CaseTarget,
    (state, transitions, seen): Sequence,
) -> Result<(), CaseFailure> {
    let mut left = first.begin_case()?;
    let mut right = second.begin_case()?;
    let mut state = state;
    let mut outcome = Ok(());
    for (step, transition) in transitions.iter().enumerate() {
        // proptest-state-machine shrinks away steps it believes were never run: count them.
        if let Some(seen) = &seen {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        match (
            left.knows_users_of(transition),
            right.knows_users_of(transition),
        ) {
            (true, true) => {}
            (false, false) => {
                state = state.apply(transition);
                continue;
            }
            (on_first, _) => {
                let (has, lacks) = if on_first {
                    ("first", "second")
                } else {
                    ("second", "first")
                };
                outcome = Err(CaseFailure::OneSided {
                    step,
                    transition: transition.clone(),
                    has,
                    lacks,
                });
                break;
            }
        }
        let statuses = |result: &Result<Vec<Exchange>, Mismatch>| match result {
            Ok(exchanges) => exchanges.iter().map(|e| e.status).collect::<Vec<_>>(),
            Err(mismatch) => mismatch.exchanges.iter().map(|e| e.status).collect(),
        };
        let a = left.perform(&state, transition);
        let b = right.perform(&state, transition);
        if statuses(&a) != statuses(&b) {
            outcome = Err(CaseFailure::Differs {
                step,
                transition: transition.clone(),
                first: statuses(&a),
                second: statuses(&b),
            });
            break;
        }
        state = state.apply(transition);
    }
    first.end_case(&mut left);
    second.end_case(&mut right);
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
    mut reason: CaseFailure,
    mut still_fails: impl FnMut(Sequence) -> Result<(), CaseFailure>,
) -> (Vec<Transition>, CaseFailure) {
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

fn render_failure(reason: &CaseFailure, transitions: &[Transition], seed: u64) -> String {
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
