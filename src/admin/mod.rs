//! Administration behind `scimctl`: each submodule owns one command group (its clap arguments
//! and its implementation), so the binary stays a thin dispatcher.

pub mod audit;
pub mod events;
pub mod reindex;
pub mod settings;
pub mod setup_link;
pub mod table;
pub mod tokens;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

/// A failed admin command: the message for the operator and the process exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AdminError {
    pub message: String,
    pub exit_code: i32,
}

impl AdminError {
    /// Bad arguments or a refused request (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        AdminError {
            message: message.into(),
            exit_code: 2,
        }
    }
    /// The operation failed (exit code 1).
    pub fn failed(message: impl Into<String>) -> Self {
        AdminError {
            message: message.into(),
            exit_code: 1,
        }
    }
}
