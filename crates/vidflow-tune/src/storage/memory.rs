//! Studies held in this process's memory.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::{FIXED_PARAMS_ATTR, StudyId, StudyRecord, now_s};
use crate::distribution::ParamValue;
use crate::error::{Error, Result};
use crate::frozen::{FrozenTrial, TrialState};
use crate::storage::Storage;
use crate::study::Direction;

/// Studies in memory: fast, shared by the threads of one process, gone when it exits.
///
/// Finished trials are kept as `Arc`s, so a snapshot of a study costs one reference count
/// per trial, not a copy.
#[derive(Default)]
pub struct MemoryStorage {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    studies: Vec<MemStudy>,
    /// Trial id -> (study index, trial number).
    trial_index: Vec<(usize, usize)>,
}

struct MemStudy {
    name: String,
    directions: Vec<Direction>,
    system_attrs: BTreeMap<String, serde_json::Value>,
    trials: Vec<Arc<FrozenTrial>>,
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panic in another thread cannot leave the maps half updated (every write is one
        // assignment), so a poisoned lock is still good to use.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn study_index(id: StudyId) -> usize {
    id as usize
}

impl Inner {
    fn study(&self, id: StudyId) -> Result<&MemStudy> {
        self.studies
            .get(study_index(id))
            .ok_or_else(|| Error::Config(format!("no study with id {id} in memory")))
    }

    fn study_mut(&mut self, id: StudyId) -> Result<&mut MemStudy> {
        self.studies
            .get_mut(study_index(id))
            .ok_or_else(|| Error::Config(format!("no study with id {id} in memory")))
    }

    fn new_trial(&mut self, study: StudyId, state: TrialState) -> Result<FrozenTrial> {
        let id = self.trial_index.len() as i64;
        let s = self.study_mut(study)?;
        let number = s.trials.len();
        let trial = FrozenTrial {
            id,
            number: number as u64,
            state,
            values: None,
            params: BTreeMap::new(),
            intermediate_values: BTreeMap::new(),
            user_attrs: BTreeMap::new(),
            system_attrs: BTreeMap::new(),
            started_at: None,
            completed_at: None,
        };
        s.trials.push(Arc::new(trial.clone()));
        self.trial_index.push((study_index(study), number));
        Ok(trial)
    }

    fn slot(&mut self, trial_id: i64) -> Result<&mut Arc<FrozenTrial>> {
        let &(s, n) = self
            .trial_index
            .get(trial_id as usize)
            .ok_or_else(|| Error::Config(format!("no trial with id {trial_id} in memory")))?;
        Ok(&mut self.studies[s].trials[n])
    }
}

impl Storage for MemoryStorage {
    fn describe(&self) -> String {
        "memory".to_string()
    }

    fn create_study(
        &self,
        name: &str,
        directions: &[Direction],
        load_if_exists: bool,
    ) -> Result<StudyRecord> {
        let mut inner = self.write();
        if let Some(i) = inner.studies.iter().position(|s| s.name == name) {
            if !load_if_exists {
                return Err(Error::StudyExists {
                    name: name.to_string(),
                    storage: self.describe(),
                });
            }
            let s = &inner.studies[i];
            if s.directions != directions {
                return Err(Error::DirectionsMismatch {
                    name: name.to_string(),
                    stored: s.directions.iter().map(|d| d.to_string()).collect(),
                    requested: directions.iter().map(|d| d.to_string()).collect(),
                });
            }
            return Ok(StudyRecord {
                id: i as StudyId,
                name: name.to_string(),
                directions: s.directions.clone(),
            });
        }
        inner.studies.push(MemStudy {
            name: name.to_string(),
            directions: directions.to_vec(),
            system_attrs: BTreeMap::new(),
            trials: Vec::new(),
        });
        Ok(StudyRecord {
            id: (inner.studies.len() - 1) as StudyId,
            name: name.to_string(),
            directions: directions.to_vec(),
        })
    }

    fn load_study(&self, name: &str) -> Result<StudyRecord> {
        let inner = self.read();
        match inner.studies.iter().position(|s| s.name == name) {
            Some(i) => Ok(StudyRecord {
                id: i as StudyId,
                name: name.to_string(),
                directions: inner.studies[i].directions.clone(),
            }),
            None => Err(Error::UnknownStudy {
                name: name.to_string(),
                storage: self.describe(),
                known: inner.studies.iter().map(|s| s.name.clone()).collect(),
            }),
        }
    }

    fn study_names(&self) -> Result<Vec<String>> {
        Ok(self.read().studies.iter().map(|s| s.name.clone()).collect())
    }

    fn study_system_attrs(&self, study: StudyId) -> Result<BTreeMap<String, serde_json::Value>> {
        Ok(self.read().study(study)?.system_attrs.clone())
    }

    fn set_study_system_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        self.write()
            .study_mut(study)?
            .system_attrs
            .insert(key.to_string(), value);
        Ok(())
    }

    fn enqueue_trial(
        &self,
        study: StudyId,
        params: &BTreeMap<String, ParamValue>,
        user_attrs: &BTreeMap<String, serde_json::Value>,
    ) -> Result<u64> {
        let mut inner = self.write();
        let mut trial = inner.new_trial(study, TrialState::Waiting)?;
        trial.system_attrs.insert(
            FIXED_PARAMS_ATTR.to_string(),
            serde_json::to_value(params).expect("params serialise"),
        );
        trial.user_attrs = user_attrs.clone();
        let (id, number) = (trial.id, trial.number);
        *inner.slot(id)? = Arc::new(trial);
        Ok(number)
    }

    fn start_trial(&self, study: StudyId) -> Result<FrozenTrial> {
        let mut inner = self.write();
        let waiting = inner
            .study(study)?
            .trials
            .iter()
            .find(|t| t.state == TrialState::Waiting)
            .map(|t| t.id);
        let mut trial = match waiting {
            Some(id) => (**inner.slot(id)?).clone(),
            None => inner.new_trial(study, TrialState::Running)?,
        };
        trial.state = TrialState::Running;
        trial.started_at = Some(now_s());
        *inner.slot(trial.id)? = Arc::new(trial.clone());
        Ok(trial)
    }

    fn update_trial(&self, trial: &FrozenTrial, _urgent: bool) -> Result<()> {
        let mut inner = self.write();
        let slot = inner.slot(trial.id)?;
        if slot.state != TrialState::Running {
            return Err(Error::TrialNotRunning {
                number: trial.number,
                state: slot.state.to_string(),
            });
        }
        *slot = Arc::new(trial.clone());
        Ok(())
    }

    fn finish_trial(&self, trial: &FrozenTrial) -> Result<()> {
        self.update_trial(trial, true)
    }

    fn trials(&self, study: StudyId) -> Result<Vec<Arc<FrozenTrial>>> {
        Ok(self.read().study(study)?.trials.clone())
    }
}
