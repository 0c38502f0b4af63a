//! Rules: which calls are logged, decided in the kernel.
//!
//! An ordered list; the first rule that applies to a call and whose
//! conditions all hold decides (`always`: log it, with the rule's key;
//! `never`: leave it out); a call no rule decides follows the default.
//! The configuration's filters (`syscalls`, `pids`, `uids`, `comms`,
//! `result`, exclude-self) come first, as a built-in rule whose "no" is
//! final.
//!
//! - [`parse`]: the text language to [`RuleList`] and back;
//! - [`compile`]: [`RuleList`] to the kernel's form, [`RuleSet`];
//! - [`set`]: that form and the kernel's validation of it;
//! - [`eval`]: the kernel's evaluation, in Rust (the device double);
//! - [`classes`]: syscall classes (`class=`, `perm=`);
//! - [`audit`]: auditd rules to sagafs rules (`sagafs-rules --from-audit`);
//! - [`lex`], [`error`]: words, values, errors naming line and word.

pub mod audit;
pub mod classes;
pub mod compile;
pub mod error;
pub mod eval;
pub mod lex;
pub mod parse;
pub mod set;

#[cfg(test)]
mod tests;

pub use compile::{compile, compile_text};
pub use error::RuleError;
pub use eval::{decide, Call, Decision, PathArg};
pub use parse::{parse, Action, Cond, Field, Rule, RuleList, Val};
pub use set::{Invalid, RuleSet, RulesInForce};
