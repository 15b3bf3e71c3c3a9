//! Errors as the user sees them.
//!
//! A [`UserError`] is something the user can fix (bad compose file, unknown service): one
//! message, optional `hint:` lines, exit code 1 as Compose. Anything else is internal and is
//! printed with its cause chain.

use std::fmt;

/// An error the user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    pub message: String,
    pub hints: Vec<String>,
    pub exit_code: i32,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hints: Vec::new(),
            exit_code: 1,
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
    pub fn exit_code(mut self, code: i32) -> Self {
        self.exit_code = code;
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// What a command returns on failure.
#[derive(Debug)]
pub enum CliError {
    User(UserError),
    Internal(anyhow::Error),
}

impl From<UserError> for CliError {
    fn from(e: UserError) -> Self {
        CliError::User(e)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        // A UserError wrapped in anyhow (possibly with context) is still a user error.
        match e.downcast::<UserError>() {
            Ok(u) => CliError::User(u),
            Err(e) => CliError::Internal(e),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Internal(e.into())
    }
}

/// Print the error to stderr and return the exit code.
pub fn report(err: &CliError) -> i32 {
    match err {
        CliError::User(u) => {
            eprintln!("{}", u.message);
            if !u.hints.is_empty() {
                eprintln!();
                for h in &u.hints {
                    eprintln!("hint: {h}");
                }
            }
            u.exit_code
        }
        CliError::Internal(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            1
        }
    }
}
