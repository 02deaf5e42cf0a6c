//! The HTTP server: the embedded page, the JSON API, the live stream, and
//! the actions. Every response forbids framing and foreign scripts, and a
//! request whose `Host` is a DNS name not allowed on the command line is
//! refused, so a web page cannot reach the dashboard through DNS rebinding.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::api::{self, AppState};
use super::{actions, live};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// The router of the dashboard; `allowed_hosts` are DNS names accepted in
/// `Host` besides `localhost` and IP addresses.
pub fn router(state: Arc<AppState>, allowed_hosts: Vec<String>) -> Router {
    let hosts = Arc::new(allowed_hosts);
    Router::new()
        .route(
            "/",
            get(|| async { asset(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/overview", get(api::overview))
        .route("/api/object/{kind}/{namespace}/{name}", get(api::object))
        .route("/api/graph", get(api::graph))
        .route("/api/live", get(live::live))
        .route(
            "/api/action/{action}/{kind}/{namespace}/{name}",
            post(actions::action),
        )
        .with_state(state)
        .layer(middleware::from_fn_with_state(hosts, guard))
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Whether a `Host` header value names this server acceptably.
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    // Strip the port: `[::1]:9080`, `127.0.0.1:9080`, `localhost:9080`.
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, _)) => return inside.parse::<IpAddr>().is_ok(),
            None => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok()
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
}

async fn guard(State(allowed): State<Arc<Vec<String>>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_allowed(host, &allowed) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            format!("host {host:?} is not allowed (see --allowed-host)"),
        )
            .into_response();
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_ips_and_allowed_hosts_pass() {
        let allowed = vec!["dash.example.com".to_string()];
        for ok in [
            "localhost:9080",
            "LOCALHOST",
            "127.0.0.1:9080",
            "10.0.0.7",
            "[::1]:9080",
            "dash.example.com:443",
        ] {
            assert!(host_allowed(ok, &allowed), "{ok}");
        }
        for bad in [
            "evil.example.com",
            "evil.example.com:9080",
            "",
            "[::1",
            "[evil]:80",
            "localhost.evil.com",
        ] {
            assert!(!host_allowed(bad, &allowed), "{bad}");
        }
    }
}
