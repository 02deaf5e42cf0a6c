//! Hostile inputs: intervals.
