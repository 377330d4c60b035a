//! The `cubec` command line: argument parsing and output only; the work is in the library.

use clap::{Parser, Subcommand};
use cubec::diag::render::{self, DiagFormat};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cubec", version, about = "A Cube-compatible semantic layer and metrics compiler")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load and check a model: every problem with file:line:col, a code and a hint.
    Validate {
        /// Model directory (default: ./metrics, else ./model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Output format for diagnostics.
        #[arg(long, value_enum, default_value = "human")]
        format: DiagFormat,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(2),
            };
        }
    };
    match cli.command {
        Command::Validate { model, format } => validate(model, format),
    }
}

fn validate(model: Option<PathBuf>, format: DiagFormat) -> ExitCode {
    let dir = model.unwrap_or_else(cubec::load::default_model_dir);
    let checked = cubec::check_model(&dir);
    let out = match format {
        DiagFormat::Human => {
            if checked.diagnostics.is_empty() {
                format!("{}: {} cubes and views, no problems\n", dir.display(), checked.model.cubes.len())
            } else {
                render::to_human(&checked.diagnostics, &checked.sources, std::io::stderr().is_terminal())
            }
        }
        DiagFormat::Json => render::to_json(&checked.diagnostics, &checked.sources) + "\n",
        DiagFormat::Github => render::to_github(&checked.diagnostics, &checked.sources),
    };
    if format == DiagFormat::Human && !checked.diagnostics.is_empty() {
        eprint!("{out}");
    } else {
        print!("{out}");
    }
    if checked.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
