//! Chart loading, values and rendering, against the conformance cases and the Helm SDK.
