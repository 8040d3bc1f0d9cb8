//! Masterminds' check of a version against a parsed constraint: per operator, with wildcards widening the
//! comparison and prereleases admitted only where an alternative names one (or the caller includes them).

use std::cmp::Ordering;

use super::{Comparison, Constraint, Op, Wildcard};
use crate::version::Version;

impl Constraint {
    pub(super) fn check(&self, v: &Version, include_prerelease: bool) -> bool {
        self.groups.iter().any(|group| {
            let include = include_prerelease || group.names_prerelease;
            group.comparisons.iter().all(|c| c.admits(v, include))
        })
    }
}

impl Comparison {
    /// How `v` orders against this comparison's bound.
    fn order_of(&self, v: &Version) -> Ordering {
        v.cmp_parts(self.major, self.minor, self.patch, &self.prerelease)
    }

    /// Masterminds' per-operator check; `include_prerelease` comes from the group (or the caller).
    fn admits(&self, v: &Version, include_prerelease: bool) -> bool {
        if v.is_prerelease() && !include_prerelease {
            return false;
        }
        let minor_wild = self.wildcard == Wildcard::Minor;
        let patch_wild = self.wildcard == Wildcard::Patch;
        match self.op {
            Op::Equal if self.wildcard == Wildcard::None => self.order_of(v) == Ordering::Equal,
            Op::Equal | Op::Tilde => self.tilde(v),
            Op::NotEqual => match self.wildcard {
                Wildcard::None | Wildcard::Major => {
                    // A wild major reaches the exact test only for 0.0.z versions, so `!=*` excludes 0.0.0 alone.
                    v.major() != self.major
                        || v.minor() != self.minor
                        || v.patch() != self.patch
                        || self.order_of(v) != Ordering::Equal
                }
                Wildcard::Minor => v.major() != self.major,
                Wildcard::Patch => {
                    v.major() != self.major
                        || v.minor() != self.minor
                        || v.prerelease() != &*self.prerelease
                }
            },
            Op::Greater => match self.wildcard {
                Wildcard::None => self.order_of(v) == Ordering::Greater,
                _ if v.major() != self.major => v.major() > self.major,
                Wildcard::Minor => false,
                Wildcard::Patch => v.minor() > self.minor,
                Wildcard::Major => self.order_of(v) == Ordering::Greater,
            },
            Op::Less => self.order_of(v) == Ordering::Less,
            Op::GreaterOrEqual => self.order_of(v) != Ordering::Less,
            Op::LessOrEqual => match self.wildcard {
                Wildcard::None => self.order_of(v) != Ordering::Greater,
                _ => {
                    v.major() <= self.major
                        && (v.major() < self.major || minor_wild || v.minor() <= self.minor)
                }
            },
            Op::Caret => {
                if self.order_of(v) == Ordering::Less {
                    false
                } else if self.major > 0 || minor_wild {
                    v.major() == self.major
                } else if v.major() > 0 {
                    false
                } else if self.minor > 0 || patch_wild {
                    v.minor() == self.minor
                } else {
                    v.minor() == 0 && v.patch() == self.patch
                }
            }
        }
    }

    /// `~`: at least the bound, within its major, and within its minor unless the minor is wild; `~0.0.0`
    /// (but not `~0.x` or `~0.0.x`) admits everything from 0.0.0 up.
    fn tilde(&self, v: &Version) -> bool {
        if self.order_of(v) == Ordering::Less {
            return false;
        }
        let minor_wild = self.wildcard == Wildcard::Minor;
        if self.major == 0
            && self.minor == 0
            && self.patch == 0
            && !minor_wild
            && self.wildcard != Wildcard::Patch
        {
            return true;
        }
        v.major() == self.major && (minor_wild || v.minor() == self.minor)
    }
}
