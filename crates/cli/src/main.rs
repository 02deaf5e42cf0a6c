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
    /// Helm commands.
    Helm {
        #[command(subcommand)]
        command: HelmCommand,
    },
    /// Push to an OCI registry.
    Push {
        #[command(subcommand)]
        command: PushCommand,
    },
    /// Pull from an OCI registry.
    Pull {
        #[command(subcommand)]
        command: PullCommand,
    },
    /// Print the status of Flux objects (as `flux get`).
    Get(ferroflux_cli::get::GetArgs),
    /// Reconcile an object now and wait for the outcome (as `flux reconcile`).
    Reconcile(ferroflux_cli::reconcile::ReconcileArgs),
    /// Suspend the reconciliation of objects (as `flux suspend`).
    Suspend(ferroflux_cli::suspend::SuspendArgs),
    /// Resume suspended objects and wait for their reconcile (as `flux resume`).
    Resume(ferroflux_cli::suspend::ResumeArgs),
    /// Print the Kubernetes events of Flux objects (as `flux events`).
    Events(ferroflux_cli::events::EventsArgs),
    /// Print what a Kustomization or HelmRelease manages, as a tree (as `flux tree`).
    Tree(ferroflux_cli::tree::TreeArgs),
    /// Serve a read-only web dashboard of every Flux object (live, in the browser).
    Ui(ferroflux_cli::ui::UiArgs),
    /// Check that the installation is healthy (as `flux check`).
    Check(ferroflux_cli::check::CheckArgs),
    /// Install the controllers and CRDs, or print them with `--export` (as `flux install`).
    Install(Box<ferroflux_cli::install::InstallArgs>),
    /// Remove the controllers, the CRDs and every Flux object (as `flux uninstall`).
    Uninstall(ferroflux_cli::uninstall::UninstallArgs),
    /// Create or update Flux objects, or print them with `--export` (as `flux create`).
    Create(Box<ferroflux_cli::create::CreateArgs>),
    /// Print a shell completion script: `source <(ferroflux completion bash)`.
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Show what applying local changes would do to the cluster (as `flux diff`).
    Diff {
        #[command(subcommand)]
        command: DiffCommand,
    },
    /// Build Flux objects locally (as `flux build`).
    Build {
        #[command(subcommand)]
        command: BuildCommand,
    },
}

#[derive(Subcommand)]
enum DiffCommand {
    /// Compare a Kustomization built from a local directory with the cluster
    /// (server-side dry-run); exit code 1 when anything would change.
    #[command(visible_alias = "ks")]
    Kustomization(ferroflux_cli::diff::DiffKustomizationArgs),
    /// Compare what helm-controller would release for a HelmRelease with the
    /// cluster (server-side dry-run); exit code 1 when anything would change.
    #[command(visible_alias = "hr")]
    Helmrelease(ferroflux_cli::diff_helmrelease::DiffHelmReleaseArgs),
}

#[derive(Subcommand)]
enum BuildCommand {
    /// Build a Kustomization from a local directory, decrypting SOPS files with the
    /// given keys, and print what kustomize-controller would apply.
    #[command(visible_alias = "ks")]
    Kustomization(ferroflux_cli::build_kustomization::BuildKustomizationArgs),
    /// Render a HelmRelease as helm-controller would (chart from its source
    /// or --chart, values from the cluster, post-renderers) and print the objects.
    #[command(visible_alias = "hr")]
    Helmrelease(ferroflux_cli::build_helmrelease::BuildHelmReleaseArgs),
}

#[derive(Subcommand)]
enum HelmCommand {
    /// Render a chart locally and print the manifests, as `helm template`.
    Template(ferroflux_cli::helm_template::TemplateArgs),
}

#[derive(Subcommand)]
enum KustomizeCommand {
    /// Build a kustomization directory and print the result as YAML.
    ///
    /// A directory without a kustomization file (kustomization.yaml,
    /// kustomization.yml, Kustomization) is built as kustomize-controller
    /// builds it: with a generated kustomization listing every Kubernetes
    /// manifest (.yaml/.yml) below it, and each subdirectory holding its own
    /// kustomization file as one resource (plain `kustomize build` fails there).
    Build {
        /// Output order: `legacy` (kustomize's kind order) or `none` (input order).
        /// A kustomization's own `sortOptions` wins.
        #[arg(long, value_enum, default_value = "legacy")]
        reorder: ReorderFlag,
        /// Which files kustomizations may read.
        #[arg(long, value_enum, default_value = "LoadRestrictionsRootOnly")]
        load_restrictor: RestrictorFlag,
        /// The directory holding the kustomization (or the manifests, for a
        /// generated one).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum PushCommand {
    /// Pack a directory (or file) as a Flux OCI artifact and push it.
    Artifact {
        /// `oci://REGISTRY/REPOSITORY:TAG`.
        url: String,
        /// The directory or file to pack.
        #[arg(long)]
        path: PathBuf,
        /// Where the files came from (`org.opencontainers.image.source`), e.g. a Git URL.
        #[arg(long)]
        source: String,
        /// Which revision of the source (`org.opencontainers.image.revision`), e.g. `main@sha1:<hex>`.
        #[arg(long)]
        revision: String,
        /// Registry credentials, `username:password`.
        #[arg(long)]
        creds: Option<String>,
        /// Use plain HTTP.
        #[arg(long)]
        insecure_registry: bool,
    },
}

#[derive(Subcommand)]
enum PullCommand {
    /// Pull a Flux OCI artifact and unpack its content into a directory.
    Artifact {
        /// `oci://REGISTRY/REPOSITORY:TAG` or `...@sha256:<hex>`.
        url: String,
        /// The directory to unpack into (created; must be empty).
        #[arg(long, short)]
        output: PathBuf,
        /// Registry credentials, `username:password`.
        #[arg(long)]
        creds: Option<String>,
        /// Use plain HTTP.
        #[arg(long)]
        insecure_registry: bool,
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

/// Runs an async verb on a fresh runtime.
fn block_on<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(f)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Get(args) => {
            let mut out = std::io::stdout().lock();
            block_on(ferroflux_cli::get::run(&args, &mut out))
        }
        Command::Reconcile(args) => block_on(ferroflux_cli::reconcile::run(&args)),
        Command::Suspend(args) => block_on(ferroflux_cli::suspend::suspend(&args)),
        Command::Resume(args) => block_on(ferroflux_cli::suspend::resume(&args)),
        Command::Events(args) => {
            let mut out = std::io::stdout().lock();
            block_on(ferroflux_cli::events::run(&args, &mut out))
        }
        Command::Tree(args) => {
            let mut out = std::io::stdout().lock();
            block_on(ferroflux_cli::tree::run(&args, &mut out))
        }
        Command::Check(args) => block_on(ferroflux_cli::check::run(&args)),
        Command::Install(args) => {
            let mut out = std::io::stdout().lock();
            block_on(ferroflux_cli::install::run(&args, &mut out))
        }
        Command::Uninstall(args) => block_on(ferroflux_cli::uninstall::run(&args)),
        Command::Create(args) => {
            let mut out = std::io::stdout().lock();
            block_on(ferroflux_cli::create::run(&args, &mut out))
        }
        Command::Ui(args) => block_on(ferroflux_cli::ui::run(&args)),
        Command::Completion { shell } => {
            use clap::CommandFactory;
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "ferroflux", &mut out);
            Ok(())
        }
        Command::Diff {
            command: DiffCommand::Kustomization(args),
        } => {
            let mut out = std::io::stdout().lock();
            match block_on(ferroflux_cli::diff::run(&args, &mut out))? {
                ferroflux_cli::diff::Verdict::Same => Ok(()),
                ferroflux_cli::diff::Verdict::Changed => Err(anyhow::anyhow!(
                    "identified at least one change, exiting with non-zero exit code"
                )),
            }
        }
        Command::Diff {
            command: DiffCommand::Helmrelease(args),
        } => {
            let mut out = std::io::stdout().lock();
            match block_on(ferroflux_cli::diff_helmrelease::run(&args, &mut out))? {
                ferroflux_cli::diff::Verdict::Same => Ok(()),
                ferroflux_cli::diff::Verdict::Changed => Err(anyhow::anyhow!(
                    "identified at least one change, exiting with non-zero exit code"
                )),
            }
        }
        Command::Build {
            command: BuildCommand::Helmrelease(args),
        } => {
            let mut out = std::io::stdout().lock();
            block_on(ferroflux_cli::build_helmrelease::run(&args, &mut out))
        }
        Command::Build {
            command: BuildCommand::Kustomization(args),
        } => {
            let mut out = std::io::stdout().lock();
            block_on(ferroflux_cli::build_kustomization::run(&args, &mut out))
        }
        Command::Helm {
            command: HelmCommand::Template(args),
        } => {
            let mut out = std::io::stdout().lock();
            ferroflux_cli::helm_template::run(&args, &mut out)
        }
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
        Command::Push {
            command:
                PushCommand::Artifact {
                    url,
                    path,
                    source,
                    revision,
                    creds,
                    insecure_registry,
                },
        } => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let options = ferroflux_cli::artifact::PushOptions {
                url,
                path,
                source,
                revision,
                creds,
                insecure: insecure_registry,
                created: None,
            };
            let pushed = runtime.block_on(ferroflux_cli::artifact::push(&options))?;
            println!("artifact successfully pushed to {pushed}");
            Ok(())
        }
        Command::Pull {
            command:
                PullCommand::Artifact {
                    url,
                    output,
                    creds,
                    insecure_registry,
                },
        } => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let options = ferroflux_cli::artifact::PullOptions {
                url,
                output: output.clone(),
                creds,
                insecure: insecure_registry,
            };
            let pulled = runtime.block_on(ferroflux_cli::artifact::pull(&options))?;
            if let Some(source) = &pulled.source {
                println!("source {source}");
            }
            if let Some(revision) = &pulled.revision {
                println!("revision {revision}");
            }
            println!("digest {}", pulled.digest);
            println!("artifact content extracted to {}", output.display());
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
            let docs = ferroflux_cli::kustomize_build::build(&dir, &options)?;
            let yaml = ferroflux_kustomize::to_yaml(&docs);
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = out.write_all(yaml.as_bytes());
            Ok(())
        }
    }
}
