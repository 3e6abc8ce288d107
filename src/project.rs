//! Finding the project root and reading rollout.toml.
