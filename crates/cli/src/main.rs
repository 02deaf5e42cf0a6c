//! `ferroflux`: the command-line tool.
//!
//! `ferroflux demo` runs the whole of Ferroflux on this machine: the embedded
//! control plane, the controllers as processes, an example app in a local
//! Git repository. `ferroflux kustomize build DIR` prints the multi-document
//! YAML that `kustomize build DIR` would, with the same flags and defaults.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use ferroflux_kustomize::{BuildOptions, LoadRestrictor, Reorder};

#[derive(Parser)]
#[command(
    name = "ferroflux",
    version,
    about = "Ferroflux: GitOps for Kubernetes, Flux-compatible"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Ferroflux locally: control plane, controllers, an example app from Git.
    Demo {
        /// Keep everything running after the summary, until Ctrl-C.
        #[arg(long)]
        watch: bool,
        /// Keep state (logs, artifacts, kubeconfig) here instead of a temporary directory.
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// How long to wait for everything to become ready, in seconds.
        #[arg(long, default_value_t = 180)]
        timeout: u64,
    },
    /// Kustomize commands.
    Kustomize {
        #[command(subcommand)]
        command: KustomizeCommand,
    },
}

#[derive(Subcommand)]
enum KustomizeCommand {
    /// Build a kustomization directory and print the result as YAML.
    Build {
        /// Output order: `legacy` (kustomize's kind order) or `none` (input order).
        /// A kustomization's own `sortOptions` wins.
        #[arg(long, value_enum, default_value = "legacy")]
        reorder: ReorderFlag,
        /// Which files kustomizations may read.
        #[arg(long, value_enum, default_value = "LoadRestrictionsRootOnly")]
        load_restrictor: RestrictorFlag,
        /// The directory holding the kustomization.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ReorderFlag {
    Legacy,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
enum RestrictorFlag {
    #[value(name = "LoadRestrictionsRootOnly")]
    RootOnly,
    #[value(name = "LoadRestrictionsNone")]
    None,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo {
            watch,
            work_dir,
            timeout,
        } => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let options = ferroflux_cli::demo::DemoOptions {
                watch,
                work_dir,
                timeout: Some(std::time::Duration::from_secs(timeout)),
            };
            runtime.block_on(ferroflux_cli::demo::run(options))?;
            Ok(())
        }
        Command::Kustomize {
            command:
                KustomizeCommand::Build {
                    reorder,
                    load_restrictor,
                    dir,
                },
        } => {
            let dir = std::fs::canonicalize(&dir).with_context(|| format!("{}", dir.display()))?;
            let options = BuildOptions {
                reorder: match reorder {
                    ReorderFlag::Legacy => Reorder::Legacy,
                    ReorderFlag::None => Reorder::None,
                },
                load_restrictor: match load_restrictor {
                    RestrictorFlag::RootOnly => LoadRestrictor::RootOnly,
                    RestrictorFlag::None => LoadRestrictor::None,
                },
            };
            let docs = ferroflux_kustomize::build(std::path::Path::new("/"), &dir, &options)?;
            let yaml = ferroflux_kustomize::to_yaml(&docs);
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = out.write_all(yaml.as_bytes());
            Ok(())
        }
    }
}
