//! Hostile inputs: scratch.
