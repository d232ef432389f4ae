//! Counterbalanced trial lists: two versions, A and B. Each participant sees every identity
//! once; within every condition half the identities appear reconstructed and half manipulated,
//! and version B shows exactly the other image of each identity. Order is shuffled with a seed
//! that the recording stores, so any session's order can be rebuilt.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::manifest::{Stimulus, StimulusSet, Variant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterbalanceVersion {
    A,
    B,
}

impl CounterbalanceVersion {
    /// Participants alternate A, B, A, ... by their 1-based number.
    pub fn for_participant(number: u32) -> Self {
        if number % 2 == 1 {
            CounterbalanceVersion::A
        } else {
            CounterbalanceVersion::B
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            CounterbalanceVersion::A => "A",
            CounterbalanceVersion::B => "B",
        }
    }
}

impl std::str::FromStr for CounterbalanceVersion {
    type Err = et_files::SettingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "A" | "a" => Ok(CounterbalanceVersion::A),
            "B" | "b" => Ok(CounterbalanceVersion::B),
            _ => Err(et_files::SettingError::new(
                "counterbalance",
                format!("counterbalance version must be A or B, got {s:?}"),
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrialSpec {
    /// 0-based position in the session.
    pub index: u32,
    pub stimulus: Stimulus,
}

/// Why a stimulus set cannot be counterbalanced: each identity needs one reconstructed and one
/// manipulated image of one condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CounterbalanceError {
    #[error("identity '{identity}' needs exactly one reconstructed and one manipulated image, has {reconstructed} and {manipulated}")]
    ImageCount {
        identity: String,
        reconstructed: usize,
        manipulated: usize,
    },
    #[error("identity '{identity}' has images of two conditions ('{reconstructed}' and '{manipulated}')")]
    TwoConditions {
        identity: String,
        reconstructed: String,
        manipulated: String,
    },
}

/// The trial list of `version`, shuffled with `seed`.
pub fn trial_list(
    set: &StimulusSet,
    version: CounterbalanceVersion,
    seed: u64,
) -> Result<Vec<TrialSpec>, CounterbalanceError> {
    // condition -> identities (sorted by name for a stable assignment).
    let mut by_condition: BTreeMap<&str, Vec<(&str, &Stimulus, &Stimulus)>> = BTreeMap::new();
    for (identity, stims) in set.by_identity() {
        let rec: Vec<_> = stims
            .iter()
            .filter(|s| s.variant == Variant::Reconstructed)
            .collect();
        let man: Vec<_> = stims
            .iter()
            .filter(|s| s.variant == Variant::Manipulated)
            .collect();
        if rec.len() != 1 || man.len() != 1 {
            return Err(CounterbalanceError::ImageCount {
                identity: identity.to_string(),
                reconstructed: rec.len(),
                manipulated: man.len(),
            });
        }
        if rec[0].condition != man[0].condition {
            return Err(CounterbalanceError::TwoConditions {
                identity: identity.to_string(),
                reconstructed: rec[0].condition.clone(),
                manipulated: man[0].condition.clone(),
            });
        }
        by_condition
            .entry(rec[0].condition.as_str())
            .or_default()
            .push((identity, rec[0], man[0]));
    }
    let mut trials: Vec<Stimulus> = Vec::new();
    for group in by_condition.values() {
        for (i, (_, rec, man)) in group.iter().enumerate() {
            let reconstructed_in_a = i % 2 == 0;
            let pick = match (version, reconstructed_in_a) {
                (CounterbalanceVersion::A, true) | (CounterbalanceVersion::B, false) => rec,
                _ => man,
            };
            trials.push((*pick).clone());
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    trials.shuffle(&mut rng);
    Ok(trials
        .into_iter()
        .enumerate()
        .map(|(i, stimulus)| TrialSpec {
            index: i as u32,
            stimulus,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_set;
    use std::collections::HashSet;

    fn set() -> StimulusSet {
        default_set::manifest(64)
    }

    #[test]
    fn each_identity_once_half_and_half_in_every_condition() {
        let s = set();
        for v in [CounterbalanceVersion::A, CounterbalanceVersion::B] {
            let t = trial_list(&s, v, 7).unwrap();
            assert_eq!(t.len(), 32);
            let ids: HashSet<_> = t.iter().map(|x| x.stimulus.identity.clone()).collect();
            assert_eq!(ids.len(), 32);
            for c in ["22q", "AS", "NS", "WS"] {
                let rec = t
                    .iter()
                    .filter(|x| {
                        x.stimulus.condition == c && x.stimulus.variant == Variant::Reconstructed
                    })
                    .count();
                let man = t
                    .iter()
                    .filter(|x| {
                        x.stimulus.condition == c && x.stimulus.variant == Variant::Manipulated
                    })
                    .count();
                assert_eq!((rec, man), (4, 4), "condition {c}");
            }
        }
    }

    #[test]
    fn versions_complement_each_other() {
        let s = set();
        let a: HashSet<_> = trial_list(&s, CounterbalanceVersion::A, 1)
            .unwrap()
            .into_iter()
            .map(|x| x.stimulus.id)
            .collect();
        let b: HashSet<_> = trial_list(&s, CounterbalanceVersion::B, 2)
            .unwrap()
            .into_iter()
            .map(|x| x.stimulus.id)
            .collect();
        assert!(a.is_disjoint(&b));
        assert_eq!(a.len() + b.len(), s.stimuli.len());
    }

    #[test]
    fn seed_fixes_the_order() {
        let s = set();
        let order = |seed| -> Vec<String> {
            trial_list(&s, CounterbalanceVersion::A, seed)
                .unwrap()
                .into_iter()
                .map(|x| x.stimulus.id)
                .collect()
        };
        assert_eq!(order(5), order(5));
        assert_ne!(order(5), order(6));
    }

    #[test]
    fn identity_without_a_pair_is_an_error() {
        let mut s = set();
        s.stimuli.retain(|x| x.id != "WS-08-manipulated");
        let e = trial_list(&s, CounterbalanceVersion::A, 1).unwrap_err();
        assert_eq!(
            e,
            CounterbalanceError::ImageCount {
                identity: "WS-08".into(),
                reconstructed: 1,
                manipulated: 0
            }
        );
        assert!(e.to_string().contains("identity 'WS-08'"), "{e}");
    }
}
