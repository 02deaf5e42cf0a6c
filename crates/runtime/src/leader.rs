//! Leader election on a `coordination.k8s.io/v1` Lease, so that only one
//! replica of a controller reconciles at a time.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use tokio::sync::watch;

/// Which Lease, who we are, and how long leadership lasts.
#[derive(Debug, Clone)]
pub struct LeaderConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Lease name (Flux uses e.g. `source-controller-leader-election`).
    pub name: String,
    /// This replica's identity (pod name).
    pub identity: String,
    /// How long a Lease lasts without renewal.
    pub lease_duration: Duration,
    /// How often to try to acquire or renew.
    pub retry_period: Duration,
}

/// The state of a Lease as the election sees it.
impl LeaderConfig {
    /// The lease `<controller>-leader-election` in `namespace`, held in the
    /// name of this pod (`POD_NAME`, else `HOSTNAME`, else `<controller>-<pid>`).
    pub fn for_controller(
        controller: &str,
        namespace: &str,
        lease_duration: Duration,
        retry_period: Duration,
    ) -> Self {
        Self {
            namespace: namespace.to_string(),
            name: format!("{controller}-leader-election"),
            identity: std::env::var("POD_NAME")
                .or_else(|_| std::env::var("HOSTNAME"))
                .unwrap_or_else(|_| format!("{controller}-{}", std::process::id())),
            lease_duration,
            retry_period,
        }
    }
}

/// Waits until this replica leads, then keeps the lease; when leadership is
/// lost the process exits, so that another replica takes over cleanly.
pub async fn lead_or_exit(client: kube::Client, config: LeaderConfig) {
    let mut leading = acquire(client, config).await;
    tokio::spawn(async move {
        while leading.changed().await.is_ok() {
            if !*leading.borrow() {
                tracing::error!("leadership lost; exiting so another replica takes over");
                // process::exit runs no destructors.
                crate::scratch::clean_before_exit();
                std::process::exit(1);
            }
        }
    });
}

fn holder(lease: &Lease) -> (&str, Option<Timestamp>, i32) {
    let spec = lease.spec.as_ref();
    (
        spec.and_then(|s| s.holder_identity.as_deref())
            .unwrap_or(""),
        spec.and_then(|s| s.renew_time.as_ref()).map(|t| t.0),
        spec.and_then(|s| s.lease_duration_seconds).unwrap_or(0),
    )
}

fn expired(renewed: Option<Timestamp>, duration_secs: i32, now: Timestamp) -> bool {
    match renewed {
        None => true,
        Some(t) => now.duration_since(t) > SignedDuration::from_secs(i64::from(duration_secs)),
    }
}

/// Tries once to take or renew the Lease; `Ok(true)` when we hold it.
pub async fn try_acquire(api: &Api<Lease>, cfg: &LeaderConfig) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let duration_secs = i32::try_from(cfg.lease_duration.as_secs()).unwrap_or(i32::MAX);
    let existing = api.get_opt(&cfg.name).await?;
    let Some(mut lease) = existing else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(cfg.name.clone()),
                namespace: Some(cfg.namespace.clone()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(cfg.identity.clone()),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_duration_seconds: Some(duration_secs),
                lease_transitions: Some(0),
                ..Default::default()
            }),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            // Someone else created it first.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        };
    };
    let (current, renewed, held_for) = holder(&lease);
    let ours = current == cfg.identity;
    if !ours && !current.is_empty() && !expired(renewed, held_for, now) {
        return Ok(false);
    }
    let spec = lease.spec.get_or_insert_with(Default::default);
    if !ours {
        spec.acquire_time = Some(MicroTime(now));
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    spec.holder_identity = Some(cfg.identity.clone());
    spec.renew_time = Some(MicroTime(now));
    spec.lease_duration_seconds = Some(duration_secs);
    // The resourceVersion in `lease` makes this a compare-and-swap.
    match api.replace(&cfg.name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Waits until this replica leads, then keeps the Lease renewed in the
/// background. The receiver turns `false` when leadership is lost (the
/// controller should then exit, as Flux's do).
pub async fn acquire(client: kube::Client, cfg: LeaderConfig) -> watch::Receiver<bool> {
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    loop {
        match try_acquire(&api, &cfg).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, lease = %cfg.name, "leader election"),
        }
        tokio::time::sleep(cfg.retry_period).await;
    }
    tracing::info!(lease = %cfg.name, identity = %cfg.identity, "became leader");
    let (tx, rx) = watch::channel(true);
    tokio::spawn(async move {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(cfg.retry_period).await;
            match try_acquire(&api, &cfg).await {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => {
                    tracing::error!(lease = %cfg.name, "lost leadership to another replica");
                    let _ = tx.send(false);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "renewing lease");
                    if last_renewal.elapsed() > cfg.lease_duration {
                        tracing::error!(lease = %cfg.name, "could not renew the lease in time");
                        let _ = tx.send(false);
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// Runs `work` as the leader: with a `lease`, waits until this replica
/// leads (exiting when leadership is lost, see [`lead_or_exit`]); then
/// reports the process ready in `metrics`, runs `work` to its end and gives
/// the Lease up, so another replica takes over at once. Without a `lease`
/// `work` runs at once.
pub async fn run_leading<F: std::future::Future>(
    client: kube::Client,
    lease: Option<LeaderConfig>,
    metrics: &crate::metrics::Metrics,
    work: F,
) -> F::Output {
    if let Some(lease) = &lease {
        lead_or_exit(client.clone(), lease.clone()).await;
    }
    metrics.set_ready(true);
    let out = work.await;
    metrics.set_ready(false);
    if let Some(lease) = &lease
        && let Err(e) = release(client, lease).await
    {
        tracing::debug!(error = %e, "giving the Lease up");
    }
    out
}

/// Gives the Lease up (on clean shutdown) so another replica takes over at once.
pub async fn release(client: kube::Client, cfg: &LeaderConfig) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    let Some(mut lease) = api.get_opt(&cfg.name).await? else {
        return Ok(());
    };
    if holder(&lease).0 != cfg.identity {
        return Ok(());
    }
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = None;
        spec.renew_time = None;
    }
    api.replace(&cfg.name, &PostParams::default(), &lease)
        .await
        .map(|_| ())
}
