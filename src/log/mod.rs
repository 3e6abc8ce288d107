//! The reliability log (SPEC §6).
