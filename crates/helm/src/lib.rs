//! Helm v4 without the helm binary: chart loading, values coalescing,
//! dependencies, rendering in Helm's install order, and Helm's release storage
//! format. Pure: it knows nothing of a cluster; callers fill in
//! `.Capabilities` and `lookup`.

pub mod release;
