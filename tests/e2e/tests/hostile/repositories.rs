//! Hostile inputs: repositories.
