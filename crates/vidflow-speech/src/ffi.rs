//! Hand-written declarations of the few Flite functions and structures this crate uses.
//!
//! Each declaration was checked against Flite 2.2's headers in `/usr/include/flite`
//! (`flite.h`, `cst_wave.h`, `cst_utterance.h`, `cst_utt_utils.h`, `cst_relation.h`,
//! `cst_item.h`); the voice registration functions are not in any header but are exported by
//! each `libflite_cmu_us_*.so` as `cst_voice *register_cmu_us_NAME(const char *voxdir)`.
//! Nothing here is safe to call from two threads at once: Flite keeps global state, so every
//! call goes through the lock in `engine.rs`.

use libc::{c_char, c_float, c_int, c_short};

/// Opaque `cst_voice`.
#[repr(C)]
pub struct CstVoice {
    _private: [u8; 0],
}

/// Opaque `cst_utterance`.
#[repr(C)]
pub struct CstUtterance {
    _private: [u8; 0],
}

/// Opaque `cst_relation`.
#[repr(C)]
pub struct CstRelation {
    _private: [u8; 0],
}

/// Opaque `cst_item`.
#[repr(C)]
pub struct CstItem {
    _private: [u8; 0],
}

/// `cst_wave` from `cst_wave.h`: interleaved 16-bit samples.
#[repr(C)]
pub struct CstWave {
    pub kind: *const c_char,
    pub sample_rate: c_int,
    pub num_samples: c_int,
    pub num_channels: c_int,
    pub samples: *mut c_short,
}

unsafe extern "C" {
    /// `int flite_init();` from `flite.h`.
    pub fn flite_init() -> c_int;
    /// `cst_utterance *flite_synth_text(const char *text, cst_voice *voice);`
    pub fn flite_synth_text(text: *const c_char, voice: *mut CstVoice) -> *mut CstUtterance;
    /// `void delete_utterance(cst_utterance *u);`
    pub fn delete_utterance(utt: *mut CstUtterance);
    /// `cst_wave *utt_wave(cst_utterance *u);`
    pub fn utt_wave(utt: *mut CstUtterance) -> *mut CstWave;
    /// `cst_relation *utt_relation(const cst_utterance *u, const char *name);`
    pub fn utt_relation(utt: *const CstUtterance, name: *const c_char) -> *mut CstRelation;
    /// `cst_item *relation_head(cst_relation *r);`
    pub fn relation_head(rel: *mut CstRelation) -> *mut CstItem;
    /// `cst_item *item_next(const cst_item *i);`
    pub fn item_next(item: *const CstItem) -> *mut CstItem;
    /// `cst_item *item_daughter(const cst_item *i);`
    pub fn item_daughter(item: *const CstItem) -> *mut CstItem;
    /// `cst_item *item_as(const cst_item *i, const char *rname);`
    pub fn item_as(item: *const CstItem, relation: *const c_char) -> *mut CstItem;
    /// `int item_feat_present(const cst_item *i, const char *name);`
    pub fn item_feat_present(item: *const CstItem, name: *const c_char) -> c_int;
    /// `float item_feat_float(const cst_item *i, const char *name);` Calls `cst_error` (which
    /// exits the process) when the feature is absent, so check `item_feat_present` first.
    pub fn item_feat_float(item: *const CstItem, name: *const c_char) -> c_float;
    /// `const char *item_feat_string(const cst_item *i, const char *name);` Same caveat.
    pub fn item_feat_string(item: *const CstItem, name: *const c_char) -> *const c_char;

    /// `cst_voice *register_cmu_us_slt(const char *voxdir);` (US female, 16 kHz).
    pub fn register_cmu_us_slt(voxdir: *const c_char) -> *mut CstVoice;
    /// `cst_voice *register_cmu_us_awb(const char *voxdir);` (Scottish male, 16 kHz).
    pub fn register_cmu_us_awb(voxdir: *const c_char) -> *mut CstVoice;
    /// `cst_voice *register_cmu_us_rms(const char *voxdir);` (US male, 16 kHz).
    pub fn register_cmu_us_rms(voxdir: *const c_char) -> *mut CstVoice;
    /// `cst_voice *register_cmu_us_kal(const char *voxdir);` (US male diphone, 8 kHz).
    pub fn register_cmu_us_kal(voxdir: *const c_char) -> *mut CstVoice;
    /// `cst_voice *register_cmu_us_kal16(const char *voxdir);` (US male diphone, 16 kHz).
    pub fn register_cmu_us_kal16(voxdir: *const c_char) -> *mut CstVoice;
}
