//! crates/gotemplate against the real peer and hostile input, in one test
//! binary: the differential corpus rendered by Helm v4's own engine
//! (`differential`), the shared conformance features that need only the
//! template language (`conformance`), and seeded fuzzing (`fuzz`).

mod conformance;
mod corpus;
mod differential;
mod fuzz;
