//! Shared helpers for the integration tests, VM test programs and benchmarks.

pub mod mix;
