//! The meter's integration tests, one binary (linking wasmtime and wasmi
//! once rather than once a file): metered modules on both engines,
//! metering with the fuel in locals, the module rules, the rewriting
//! itself, and the check that a module's metering is real.

mod common;
mod engines;
mod local;
mod refusals;
mod rewriting;
mod verify;
