//! Random lifecycles: which operations can follow a state, and the sequence strategy that
//! proptest-state-machine shrinks to the shortest failing run.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use proptest::prelude::*;
use proptest_state_machine::Sequential;

use super::{
    Capabilities, ModelState, RequiredField, Transition, CRUX_PERMISSIONS, CRUX_USERS, PROJECTS,
};

/// A generated run: the starting state, its operations, and proptest's count of those seen.
pub type Sequence = (ModelState, Vec<Transition>, Option<Arc<AtomicUsize>>);

/// How many templates a transition may pick from (mapped onto the project's real templates).
const TEMPLATE_SLOTS: u8 = 4;

/// Runs of 1 to `max_steps` operations for a target with `capabilities`. Shrinking deletes
/// operations from the back, then simplifies each one, keeping every sequence meaningful.
pub fn sequential(
    capabilities: Capabilities,
    max_steps: usize,
) -> Sequential<ModelState, Transition, BoxedStrategy<ModelState>, BoxedStrategy<Transition>> {
    Sequential::new(
        (1..=max_steps.max(1)).into(),
        move || Just(ModelState::new(capabilities)).boxed(),
        |state: &ModelState, transition: &Transition| state.allows(transition),
        transitions,
        |state: ModelState, transition: &Transition| state.apply(transition),
    )
}

/// The operations that can follow `state`, weighted toward the lifecycle's main road.
pub fn transitions(state: &ModelState) -> BoxedStrategy<Transition> {
    let name = "[A-Z][a-z]{2,8}";
    let title = prop::option::of("(Foreman|Engineer|Estimator|Manager)");
    let project = 0..PROJECTS;
    let template = 0..TEMPLATE_SLOTS;
    let mut choices: Vec<(u32, BoxedStrategy<Transition>)> = vec![
        (
            6,
            (name, title)
                .prop_map(|(last_name, job_title)| Transition::CreateUser {
                    last_name,
                    job_title,
                })
                .boxed(),
        ),
        (
            1,
            prop_oneof![
                Just(RequiredField::LastName),
                Just(RequiredField::EmailAddress)
            ]
            .prop_map(|field| Transition::CreateMissingField { field })
            .boxed(),
        ),
        (1, Just(Transition::CreateFlatBody).boxed()),
        (
            1,
            project
                .clone()
                .prop_map(|project| Transition::AddUnknownUser { project })
                .boxed(),
        ),
        (
            1,
            (1u16..=5)
                .prop_map(|per_page| Transition::ListAll { per_page })
                .boxed(),
        ),
    ];
    let capabilities = state.capabilities;
    if capabilities.documented && capabilities.user_with_records {
        choices.push((1, Just(Transition::DeleteUserWithRecords).boxed()));
    }
    if capabilities.controllable_clock {
        choices.push((1, Just(Transition::ExpireToken).boxed()));
    }
    if capabilities.authorization_code {
        choices.push((1, Just(Transition::RotateRefreshToken).boxed()));
    }
    if capabilities.crux {
        let user = 0..CRUX_USERS;
        let permissions = prop::collection::vec(0..CRUX_PERMISSIONS, 0..=3);
        choices.extend([
            (
                3,
                (user.clone(), permissions.clone())
                    .prop_map(|(user, permissions)| Transition::CruxGrant { user, permissions })
                    .boxed(),
            ),
            (
                3,
                (user.clone(), permissions)
                    .prop_map(|(user, permissions)| Transition::CruxRevoke { user, permissions })
                    .boxed(),
            ),
            (
                1,
                (user, 0..CRUX_PERMISSIONS)
                    .prop_map(|(user, permission)| Transition::CruxGrantWithUnknown {
                        user,
                        permission,
                    })
                    .boxed(),
            ),
        ]);
    }
    if !state.users.is_empty() {
        let user = 0..state.users.len();
        choices.extend([
            (
                2,
                user.clone()
                    .prop_map(|of| Transition::CreateDuplicateEmail { of })
                    .boxed(),
            ),
            (
                3,
                (
                    user.clone(),
                    "(Foreman|Engineer|Estimator|Manager|Director)",
                )
                    .prop_map(|(user, job_title)| Transition::UpdateJobTitle { user, job_title })
                    .boxed(),
            ),
            (
                3,
                user.clone()
                    .prop_map(|user| Transition::Deactivate { user })
                    .boxed(),
            ),
            (
                2,
                user.clone()
                    .prop_map(|user| Transition::Reactivate { user })
                    .boxed(),
            ),
            (
                6,
                (user.clone(), project.clone(), template.clone())
                    .prop_map(|(user, project, template)| Transition::AddToProject {
                        user,
                        project,
                        template,
                    })
                    .boxed(),
            ),
            (
                1,
                (user.clone(), project.clone())
                    .prop_map(|(user, project)| Transition::AddWithForeignTemplate {
                        user,
                        project,
                    })
                    .boxed(),
            ),
            (
                3,
                (user.clone(), project.clone())
                    .prop_map(|(user, project)| Transition::RemoveFromProject { user, project })
                    .boxed(),
            ),
        ]);
        if capabilities.documented {
            choices.push((
                1,
                user.clone()
                    .prop_map(|user| Transition::Delete { user })
                    .boxed(),
            ));
        }
        let members: Vec<(u8, usize)> = state.members.keys().copied().collect();
        if !members.is_empty() {
            choices.push((
                3,
                (prop::sample::select(members), template)
                    .prop_map(|((project, user), template)| Transition::ChangeTemplate {
                        user,
                        project,
                        template,
                    })
                    .boxed(),
            ));
        }
    }
    prop::strategy::Union::new_weighted(choices).boxed()
}
