//! Crux Connect's part of the model: permission grants and revokes on the organization's
//! users, written from Crux's pages alone.
//!
//! Crux's API cannot create users, so the operations work on users that exist before the run,
//! named by slot (the session maps slots onto the target's users other than the caller, and
//! permission slots onto the permissions the organization is offered). The model does not
//! know what those users held at the start; it keeps, per user and permission, what the run
//! last did, so the invariant reads: a user's permission set is exactly what they held at the
//! start, plus what was granted, minus what was revoked since, the later of the two winning.

use std::collections::{BTreeMap, BTreeSet};

/// How many existing organization users a run works on.
pub const CRUX_USERS: u8 = 3;
/// How many of the offered permissions a run grants and revokes.
pub const CRUX_PERMISSIONS: u8 = 4;

/// What the run last did to each (user slot, permission slot): `true` granted, `false`
/// revoked. Pairs the run never touched are absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CruxAssignments {
    last: BTreeMap<(u8, u8), bool>,
}

impl CruxAssignments {
    /// `permissions` granted to `user` (already held ones stay held: adding is idempotent).
    pub fn grant(&mut self, user: u8, permissions: &[u8]) {
        for permission in permissions {
            self.last.insert((user, *permission), true);
        }
    }

    /// `permissions` revoked from `user` (ones not held stay not held: removing is idempotent).
    pub fn revoke(&mut self, user: u8, permissions: &[u8]) {
        for permission in permissions {
            self.last.insert((user, *permission), false);
        }
    }

    /// The permission slots `user` must hold now, given those they held at the start.
    pub fn expected(&self, user: u8, initial: &BTreeSet<u8>) -> BTreeSet<u8> {
        let mut held = initial.clone();
        for ((who, permission), granted) in &self.last {
            if *who != user {
                continue;
            }
            if *granted {
                held.insert(*permission);
            } else {
                held.remove(permission);
            }
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_what_was_held_plus_granted_minus_revoked_the_later_winning() {
        let mut assignments = CruxAssignments::default();
        let initial = BTreeSet::from([0, 3]);
        assignments.grant(1, &[1, 2]);
        assignments.revoke(1, &[0, 2]);
        assignments.grant(1, &[2]);
        assignments.revoke(2, &[1]);
        assert_eq!(assignments.expected(1, &initial), BTreeSet::from([1, 2, 3]));
        assert_eq!(
            assignments.expected(0, &initial),
            initial,
            "other users untouched"
        );
    }

    #[test]
    fn granting_twice_and_revoking_what_is_not_held_change_nothing() {
        let mut assignments = CruxAssignments::default();
        let initial = BTreeSet::from([0]);
        assignments.grant(0, &[0, 0]);
        assignments.revoke(0, &[1]);
        assert_eq!(assignments.expected(0, &initial), initial);
    }
}
