//! Health-check policies, as the agent runs them and the desk accepts them:
//! every check kind with its parameters ([`policy::KINDS`]), thresholds
//! with units ([`threshold`]), and validation one check at a time, so one
//! bad check is reported (naming its id and field) while the others run.
//!
//! Pure: no I/O, nothing per-OS. The agent's host layer runs the checks
//! (`deskside_host::checks`); the desk validates policies with these same
//! rules before it publishes them.

pub mod policy;
pub mod threshold;

pub use policy::{
    Check, Kind, KindInfo, LoadWindow, LoadedPolicy, ParamInfo, PolicyError, TicketRule,
    unknown_top_level,
};
