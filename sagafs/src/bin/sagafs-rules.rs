//! `sagafs-rules`: sagafs rule files from auditd rule files, and checks
//! of sagafs rule files (see sagafs-rules(8)).
//!
//!   sagafs-rules --from-audit FILE...   print the translation
//!   sagafs-rules --check FILE...        parse and compile, print errors
//!
//! Exit status: 0 all translated (or valid), 1 some lines not translated
//! (or invalid), 2 a file could not be read or the arguments are wrong.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgGroup};
use sagafs::rules::audit::{self, Outcome};
use sagafs::rules::compile_text;

fn command() -> clap::Command {
    clap::Command::new("sagafs-rules")
        .about("Translate auditd rules to sagafs rules, or check sagafs rules")
        .override_usage("sagafs-rules --from-audit FILE...\n       sagafs-rules --check FILE...")
        .disable_version_flag(true)
        .arg(
            Arg::new("from-audit")
                .long("from-audit")
                .action(ArgAction::SetTrue)
                .help("Translate auditd rule files (auditctl syntax) to sagafs rules on stdout"),
        )
        .arg(
            Arg::new("check")
                .long("check")
                .action(ArgAction::SetTrue)
                .help("Check sagafs rule files: each error with its file, line and word"),
        )
        .group(
            ArgGroup::new("mode")
                .args(["from-audit", "check"])
                .required(true),
        )
        .arg(
            Arg::new("files")
                .value_name("FILE")
                .num_args(1..)
                .required(true)
                .value_parser(clap::value_parser!(PathBuf)),
        )
}

fn read(path: &PathBuf) -> Result<String, ExitCode> {
    std::fs::read_to_string(path).map_err(|e| {
        eprintln!("sagafs-rules: {}: {e}", path.display());
        ExitCode::from(2)
    })
}

fn from_audit(files: &[PathBuf]) -> ExitCode {
    let mut out = String::from(
        "# sagafs rules translated from auditd rules by sagafs-rules --from-audit\n\
         # auditd logs nothing a rule does not ask for:\n\
         default never\n",
    );
    let (mut rules, mut failed, mut skipped) = (0, 0, 0);
    let mut lines = Vec::new();
    for f in files {
        let text = match read(f) {
            Ok(t) => t,
            Err(code) => return code,
        };
        lines.extend(audit::translate(&text).lines.into_iter().map(|l| (f, l)));
    }
    // Reports in file order, rules in the order auditctl leaves them.
    for (f, l) in &lines {
        let shown = f.display();
        match &l.outcome {
            Outcome::Rule(_) => rules += 1,
            Outcome::Skipped(why) => {
                eprintln!("{shown}:{}: skipped: {why}", l.number);
                skipped += 1;
            }
            Outcome::Failed(why) => {
                eprintln!(
                    "{shown}:{}: not translated: {why}\n    {}",
                    l.number, l.source
                );
                failed += 1;
            }
        }
    }
    for (f, l) in audit::in_load_order(lines) {
        if let Outcome::Rule(r) = l.outcome {
            let shown = f.display();
            out.push_str(&format!("# {shown}:{}: {}\n{r}\n", l.number, l.source));
        }
    }
    print!("{out}");
    // Each rule compiled alone; the whole set must fit the limits too.
    let whole = compile_text(&out).err();
    if let Some(e) = &whole {
        eprintln!("sagafs-rules: the translation as a whole does not load: {e}");
    }
    eprintln!(
        "sagafs-rules: {rules} rules translated, {failed} lines not translated, {skipped} skipped"
    );
    if failed > 0 || whole.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn check(files: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for f in files {
        let text = match read(f) {
            Ok(t) => t,
            Err(code) => return code,
        };
        match compile_text(&text) {
            Ok(set) => println!("{}: {} rules", f.display(), set.rules.len()),
            Err(e) if e.word.is_empty() => {
                eprintln!("{}:{}: {}", f.display(), e.line, e.message);
                bad = true;
            }
            Err(e) => {
                eprintln!("{}:{}: '{}': {}", f.display(), e.line, e.word, e.message);
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let m = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let files: Vec<PathBuf> = m
        .get_many::<PathBuf>("files")
        .map(|v| v.cloned().collect())
        .unwrap_or_default();
    if m.get_flag("from-audit") {
        from_audit(&files)
    } else {
        check(&files)
    }
}
