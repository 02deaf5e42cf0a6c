//! `testenv serve`: the test API server as a process, for end-to-end tests
//! and the demo.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "testenv",
    about = "A Kubernetes-compatible API server for hermetic tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API on 127.0.0.1 (plain HTTP) until interrupted.
    Serve {
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Where to write a kubeconfig for the admin user.
        #[arg(long)]
        kubeconfig_out: PathBuf,
        /// Simulate workloads, one step each this many milliseconds: Deployments,
        /// StatefulSets and DaemonSets roll out, Pods run and end, Jobs run
        /// their Pods (see the `workloads` module).
        #[arg(long, value_name = "MILLIS")]
        simulate_workloads: Option<u64>,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            port,
            kubeconfig_out,
            simulate_workloads,
        } => {
            let options = ferroflux_testenv::Options {
                simulate_workloads: simulate_workloads.map(std::time::Duration::from_millis),
                ..Default::default()
            };
            let addr = format!("127.0.0.1:{port}");
            let env = match ferroflux_testenv::TestEnv::start_with(&addr, options).await {
                Ok(env) => env,
                Err(e) => {
                    eprintln!("testenv: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            if let Err(e) = env.write_kubeconfig(&kubeconfig_out) {
                eprintln!("testenv: {e}");
                return std::process::ExitCode::FAILURE;
            }
            println!(
                "serving {} (kubeconfig: {})",
                env.url(),
                kubeconfig_out.display()
            );
            wait_for_signal().await;
            drop(env);
            std::process::ExitCode::SUCCESS
        }
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
