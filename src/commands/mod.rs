pub mod analyze;
pub mod demo;
pub mod import;
pub mod inspect;
pub mod recover;
pub mod replay;
pub mod run;
pub mod trackers;
