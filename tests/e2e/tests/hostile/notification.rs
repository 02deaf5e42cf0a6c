//! Hostile inputs: notification.
