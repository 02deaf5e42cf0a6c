//! The OCI client against a real registry (`docker-registry`) and an
//! independent client (`oras-py`).

mod registry;
