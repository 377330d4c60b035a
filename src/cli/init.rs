//! `cubec init [DIR]`: a new model folder a Cube user recognizes, which validates, queries on
//! the embedded engine and passes its own test as soon as it is written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Every file `init` writes: its path under the project folder and its contents.
const FILES: &[(&str, &str)] = &[
    ("model/referrals.yml", include_str!("init_template/referrals.yml")),
    ("model/data/referrals.csv", include_str!("init_template/referrals.csv")),
    ("model/queries/conversion_by_channel.json", include_str!("init_template/conversion_by_channel.json")),
    ("model/tests/referrals.yml", include_str!("init_template/referrals_test.yml")),
    (".gitignore", include_str!("init_template/gitignore")),
    (".github/workflows/cubec.yml", include_str!("init_template/github_workflow.yml")),
];

pub(crate) fn init(dir: &Path) -> ExitCode {
    // Check every target before writing any, so a refusal leaves nothing half-written.
    let existing: Vec<PathBuf> = FILES.iter().map(|(p, _)| dir.join(p)).filter(|p| p.exists()).collect();
    if !existing.is_empty() {
        eprintln!("error: `cubec init` does not overwrite files, and these exist already:");
        for p in &existing {
            eprintln!("  {}", p.display());
        }
        eprintln!("help: run it in an empty folder, or move those files away first");
        return ExitCode::from(1);
    }
    for (rel, text) in FILES {
        if let Err(e) = write_new(&dir.join(rel), text) {
            eprintln!("error: cannot write `{}`: {e}", dir.join(rel).display());
            return ExitCode::from(1);
        }
    }
    let shown = dir.display();
    println!("Created a cubec project in {shown}:");
    for (rel, _) in FILES {
        println!("  {rel}");
    }
    println!();
    println!("Next:");
    if dir != Path::new(".") {
        println!("  cd {shown}");
    }
    println!("  cubec validate     # check the model");
    println!("  cubec query --query model/queries/conversion_by_channel.json");
    println!("  cubec test         # run the metric unit test");
    ExitCode::SUCCESS
}

/// Creates `path` (and its folders) only if it does not exist: `create_new` refuses a file that
/// appeared since the check above.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    f.write_all(text.as_bytes())
}
