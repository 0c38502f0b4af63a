//! `RuleError`: what is wrong with a rule text, naming the line and the
//! word, with a message a person can act on.

use std::fmt;

/// A rule text that cannot be used; nothing of it was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// 1-based line number in the text given.
    pub line: usize,
    /// The word at fault, as written (empty when the line as a whole is).
    pub word: String,
    pub message: String,
}

impl RuleError {
    pub fn new(line: usize, word: impl Into<String>, message: impl Into<String>) -> Self {
        RuleError {
            line,
            word: word.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.word.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "line {}: '{}': {}", self.line, self.word, self.message)
        }
    }
}

impl std::error::Error for RuleError {}
