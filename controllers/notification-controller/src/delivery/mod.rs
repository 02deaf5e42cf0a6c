//! Delivery: a bounded queue ("lane") per Provider, each drained by its own
//! worker with a few deliveries in flight, retries with backoff inside the
//! Provider's timeout, and outcomes reported to the Alert and Provider.
//!
//! One lane per Provider means a slow or unreachable service only ever holds
//! up its own notifications: other Providers have their own lanes, and
//! intake never waits on any lane (a full lane drops the notification and
//! says so). Lanes are bounded in count and bytes, each and together, and
//! follow their Provider: deleting or changing it drops its lane
//! (see [`lanes`]).

pub mod lanes;
pub mod report;
pub mod retry;

pub use lanes::{
    DEFAULT_LANE_BYTES, Delivery, DeliveryOptions, Dropped, Job, ObjectKey, Outcome,
    ProviderIdentity, Reporter,
};
pub use report::StatusReporter;
pub use retry::RetryPolicy;
