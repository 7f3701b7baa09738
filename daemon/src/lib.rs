//! The part of the daemon that needs no I/O, as a library: how a `Generate` call's messages become
//! a job's request. The `3dgpt` binary is built on it, and the fuzz target `request` drives it.
#![deny(missing_docs)]

pub mod request;
