//! Alerts: which events go to which Provider. [`matching`] decides (event
//! sources, severity, inclusion/exclusion), [`labels`] reads involved
//! objects' labels for `matchLabels`, [`metadata`] merges the notification
//! metadata, [`dispatch`] turns events into queued notifications and
//! [`reconciler`] keeps the Alert's status.

pub mod dispatch;
pub mod labels;
pub mod matching;
pub mod metadata;
pub mod reconciler;

pub use dispatch::Dispatcher;
