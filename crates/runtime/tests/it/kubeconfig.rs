//! Vetting of tenants' kubeconfigs: what is refused by default, what the
//! flags allow, values that would break headers or URLs, and a seeded
//! property test that no kubeconfig panics the loader, the client or a
//! request.

use std::time::Duration;

use ferroflux_runtime::kubeconfig::{KubeconfigError, Policy, client, load, parse, vet};

fn kubeconfig(cluster: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n{cluster}\nusers:\n- name: u\n  user:\n{user}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
    )
}

const SERVER: &str = "    server: http://127.0.0.1:1";

fn vetted(cluster: &str, user: &str, policy: Policy) -> Result<(), KubeconfigError> {
    vet(&parse(&kubeconfig(cluster, user))?, &policy)
}

fn refused_field(r: Result<(), KubeconfigError>) -> String {
    match r {
        Err(KubeconfigError::Refused { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn exec_and_auth_provider_commands_are_refused_unless_allowed() {
    let exec = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [-c, 'touch /tmp/x']";
    let err = vetted(SERVER, exec, Policy::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "users[0].user.exec: running a command is not allowed in a kubeconfig from a Secret (the controller allows it only with --insecure-kubeconfig-exec)"
    );
    let cmd = "    auth-provider:\n      name: gcp\n      config:\n        cmd-path: /bin/sh\n        cmd-args: -c true";
    assert_eq!(
        refused_field(vetted(SERVER, cmd, Policy::default())),
        "users[0].user.auth-provider.config.cmd-path"
    );
    assert_eq!(
        refused_field(vetted(
            SERVER,
            "    tokenFile: /etc/hostname",
            Policy::default()
        )),
        "users[0].user.tokenFile"
    );
    // The TLS flag does not open exec.
    let tls = Policy {
        allow_tls_files: true,
        ..Default::default()
    };
    assert_eq!(
        refused_field(vetted(SERVER, exec, tls)),
        "users[0].user.exec"
    );
    let allow = Policy {
        allow_exec: true,
        ..Default::default()
    };
    for user in [exec, cmd, "    tokenFile: /etc/hostname"] {
        assert_eq!(vetted(SERVER, user, allow), Ok(()), "{user}");
    }
}

#[test]
fn tls_files_are_refused_unless_allowed() {
    let policy = Policy::default();
    let ca = format!("{SERVER}\n    certificate-authority: /etc/ssl/ca.pem");
    assert_eq!(
        refused_field(vetted(&ca, "    token: t", policy)),
        "clusters[0].cluster.certificate-authority"
    );
    let skip = format!("{SERVER}\n    insecure-skip-tls-verify: true");
    assert_eq!(
        refused_field(vetted(&skip, "    token: t", policy)),
        "clusters[0].cluster.insecure-skip-tls-verify"
    );
    assert_eq!(
        refused_field(vetted(SERVER, "    client-certificate: /c.pem", policy)),
        "users[0].user.client-certificate"
    );
    assert_eq!(
        refused_field(vetted(SERVER, "    client-key: /k.pem", policy)),
        "users[0].user.client-key"
    );
    let allow = Policy {
        allow_tls_files: true,
        ..Default::default()
    };
    assert_eq!(vetted(&ca, "    token: t", allow), Ok(()));
    assert_eq!(vetted(&skip, "    token: t", allow), Ok(()));
    assert_eq!(
        vetted(
            SERVER,
            "    client-certificate: /c.pem\n    client-key: /k.pem",
            allow
        ),
        Ok(())
    );
    // Inline data is not a file and is always fine.
    let data = format!("{SERVER}\n    certificate-authority-data: Zm9v");
    assert_eq!(vetted(&data, "    token: t", policy), Ok(()));
}

#[test]
fn every_user_and_cluster_is_vetted_not_only_the_current_one() {
    let yaml = "clusters:\n- name: c\n  cluster:\n    server: https://h\n- name: unused\n  cluster:\n    server: https://h\n    certificate-authority: /etc/ssl/x\nusers:\n- name: u\n  user:\n    token: t\n- name: unused\n  user:\n    exec:\n      command: /bin/true\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
    let kc = parse(yaml).expect("parses");
    let err = vet(&kc, &Policy::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("clusters[1].cluster.certificate-authority:"),
        "{err}"
    );
    let tls = Policy {
        allow_tls_files: true,
        ..Default::default()
    };
    let err = vet(&kc, &tls).unwrap_err();
    assert!(err.to_string().starts_with("users[1].user.exec:"), "{err}");
}

#[test]
fn header_values_are_checked_and_never_quoted() {
    let policy = Policy::default();
    let cases = [
        ("    token: \"abc\\ndef-SECRET\"", "users[0].user.token"),
        ("    token: \"abc\\rdef-SECRET\"", "users[0].user.token"),
        ("    token: \"\"", "users[0].user.token"),
        (
            "    username: \"me\\n\"\n    password: \"pw-SECRET\"",
            "users[0].user.username",
        ),
        (
            "    username: me\n    password: \"pw\\nSECRET\"",
            "users[0].user.password",
        ),
        (
            "    token: t\n    as: \"admin\\nX-SECRET: 1\"",
            "users[0].user.as",
        ),
        ("    token: t\n    as-uid: \"1\\n\"", "users[0].user.as-uid"),
        (
            "    token: t\n    as-groups: [ok, \"bad\\n\"]",
            "users[0].user.as-groups[1]",
        ),
        (
            "    token: t\n    as-user-extra:\n      scopes: [\"a\\nb\"]",
            "users[0].user.as-user-extra",
        ),
        (
            "    auth-provider:\n      name: oidc\n      config:\n        id-token: \"x\\ny-SECRET\"",
            "users[0].user.auth-provider.config.id-token",
        ),
    ];
    for (user, field) in cases {
        match vetted(SERVER, user, policy) {
            Err(e @ KubeconfigError::Invalid { .. }) => {
                let msg = e.to_string();
                assert!(msg.starts_with(&format!("{field}: ")), "{msg}");
                assert!(!msg.contains("SECRET"), "a secret in the message: {msg}");
            }
            other => panic!("{user}: expected Invalid naming {field}, got {other:?}"),
        }
    }
}

#[test]
fn server_and_proxy_urls_are_checked() {
    let user = "    token: t";
    for (cluster, field) in [
        ("    server: 127.0.0.1:6443", "clusters[0].cluster.server"),
        ("    server: example.com", "clusters[0].cluster.server"),
        (
            "    server: ftp://example.com",
            "clusters[0].cluster.server",
        ),
        ("    server: \"https://a b\"", "clusters[0].cluster.server"),
        ("    server: \"https://\"", "clusters[0].cluster.server"),
        (
            "    insecure-skip-tls-verify: false",
            "clusters[0].cluster.server",
        ),
        (
            "    server: https://h\n    proxy-url: \"h:3128\"",
            "clusters[0].cluster.proxy-url",
        ),
        (
            "    server: https://h\n    proxy-url: \"file:///etc/passwd\"",
            "clusters[0].cluster.proxy-url",
        ),
    ] {
        match vetted(cluster, user, Policy::default()) {
            Err(KubeconfigError::Invalid { field: f, .. }) => assert_eq!(f, field, "{cluster}"),
            other => panic!("{cluster}: expected Invalid, got {other:?}"),
        }
    }
    for cluster in [
        "    server: https://example.com:6443",
        "    server: http://[::1]:8080/base/",
        "    server: https://h\n    proxy-url: socks5://p:1080",
        "    server: https://h\n    proxy-url: \"\"",
    ] {
        assert_eq!(
            vetted(cluster, user, Policy::default()),
            Ok(()),
            "{cluster}"
        );
    }
}

#[test]
fn parse_errors_do_not_quote_the_text() {
    let err = parse("users:\n- name: u\n  user:\n    token: [SECRET-TOKEN\n").unwrap_err();
    assert!(!err.to_string().contains("SECRET"), "{err}");
    assert!(
        err.to_string().starts_with("not a valid kubeconfig"),
        "{err}"
    );
}

#[test]
fn deeply_nested_yaml_is_an_error_not_a_stack_overflow() {
    for open in ["[", "{a: ", "- "] {
        let text = format!("users: {}", open.repeat(200_000));
        assert!(parse(&text).is_err());
    }
}

#[tokio::test]
async fn a_bad_token_is_an_error_when_loading_not_a_panic_when_building() {
    // Today's failure: kube hands the token to tower-http, whose bearer
    // layer panics ("token is not valid header") on a newline.
    let yaml = kubeconfig(SERVER, "    token: \"abc\\ndef\"");
    let err = load(&yaml, &Policy::default()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "users[0].user.token: not a valid HTTP header value (it contains a newline or another control character)"
    );
    // Impersonation set after loading is checked again when building.
    let yaml = kubeconfig(SERVER, "    token: fine");
    let mut config = load(&yaml, &Policy::default()).await.expect("loads");
    config.auth_info.impersonate = Some("system:serviceaccount:ns:sa\nX: y".into());
    match client(config).await {
        Err(err) => assert!(err.to_string().starts_with("user.as: "), "{err}"),
        Ok(_) => panic!("a client with a newline in an impersonation header"),
    }
}

#[tokio::test]
async fn an_allowed_exec_plugin_runs_when_the_client_is_built() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let script = format!(
        "touch {} && printf '%s' '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"t\"}}}}'",
        marker.display()
    );
    let user = format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [\"-c\", {script:?}]"
    );
    let yaml = kubeconfig(SERVER, &user);
    assert!(matches!(
        load(&yaml, &Policy::default()).await,
        Err(KubeconfigError::Refused { .. })
    ));
    assert!(!marker.exists());
    let policy = Policy {
        allow_exec: true,
        ..Default::default()
    };
    let config = load(&yaml, &policy).await.expect("allowed");
    client(config).await.expect("a client");
    assert!(marker.exists(), "the allowed plugin did not run");
}

/// Values that have broken parsers and header builders before.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "\n",
    "\r\n",
    "\t",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "é",
    "\u{202e}",
    "💥",
    "%",
    "%zz",
    "%0a",
    "\\n",
    "\"",
    "'",
    ":",
    "@",
    "#",
    "?",
    "[",
    "]",
    "{",
    "}",
    "//",
    "..",
    "*",
    "&a",
    "!!binary",
    "~",
    "null",
    "true",
    "0x10",
    "1e999",
    "-1",
    "99999999999999999999999",
];

const SERVERS: &[&str] = &[
    "http://127.0.0.1:1",
    "https://127.0.0.1:1",
    "127.0.0.1:1",
    "localhost:1",
    "http://127.0.0.1:1/base/?q=1#f",
    "http://u:p@127.0.0.1:1",
    "http://127.0.0.1:99999",
    "http://[::1]:1",
    "http://[::1",
    "https://",
    "http:/x",
    "/only/a/path",
    "unix:///var/run/x.sock",
    "HTTP://127.0.0.1:1",
    "http://127.0.0.1:1\n",
    "http://%31%32%37.0.0.1:1",
];

const PROXIES: &[&str] = &[
    "",
    "http://127.0.0.1:1",
    "socks5://127.0.0.1:1",
    "https://127.0.0.1:1",
    "127.0.0.1:1",
    "ftp://x",
    "http://u:p%0a@127.0.0.1:1",
    "socks5://",
    "http://[::1",
];

/// A JSON string literal (valid YAML) of `s`.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// One generated kubeconfig: field values drawn from the lists above,
/// mixed with random text, then the text itself mutated.
fn generate(rng: &mut fastrand::Rng) -> String {
    let pick = |rng: &mut fastrand::Rng, list: &[&str]| list[rng.usize(..list.len())].to_string();
    // A third each: clean values, hostile values, hostile values and a
    // mutated text (clean cases make sure the whole client stack is run).
    let hostility = rng.u8(..3);
    let text = |rng: &mut fastrand::Rng| -> String {
        let mut s = String::new();
        for _ in 0..rng.usize(1..4) {
            if hostility > 0 && rng.bool() {
                s.push_str(&pick(rng, HOSTILE));
            } else {
                s.extend((0..rng.usize(1..6)).map(|_| rng.alphanumeric()));
            }
        }
        s
    };
    let (servers, proxies) = if hostility == 0 {
        (&SERVERS[..2], &PROXIES[..3])
    } else {
        (SERVERS, PROXIES)
    };
    let mut cluster = vec![format!("    server: {}", quoted(&pick(rng, servers)))];
    if rng.bool() {
        cluster.push(format!("    proxy-url: {}", quoted(&pick(rng, proxies))));
    }
    if rng.u8(..4) == 0 {
        cluster.push(format!("    tls-server-name: {}", quoted(&text(rng))));
    }
    if rng.u8(..4) == 0 {
        cluster.push(format!(
            "    certificate-authority-data: {}",
            quoted(&text(rng))
        ));
    }
    let mut user = Vec::new();
    match rng.u8(..5) {
        0 => user.push(format!("    token: {}", quoted(&text(rng)))),
        1 => {
            user.push(format!("    username: {}", quoted(&text(rng))));
            user.push(format!("    password: {}", quoted(&text(rng))));
        }
        2 => user.push(format!(
            "    auth-provider:\n      name: {}\n      config:\n        id-token: {}\n        access-token: {}",
            quoted(&pick(rng, &["oidc", "gcp", "azure", "x"])),
            quoted(&text(rng)),
            quoted(&text(rng))
        )),
        3 => {
            user.push(format!(
                "    client-certificate-data: {}",
                quoted(&text(rng))
            ));
            user.push(format!("    client-key-data: {}", quoted(&text(rng))));
        }
        _ => {}
    }
    if rng.bool() {
        user.push(format!("    as: {}", quoted(&text(rng))));
        user.push(format!("    as-groups: [{}]", quoted(&text(rng))));
        user.push(format!("    as-uid: {}", quoted(&text(rng))));
        user.push(format!(
            "    as-user-extra:\n      {}: [{}]",
            quoted(&text(rng)),
            quoted(&text(rng))
        ));
    }
    if user.is_empty() {
        user.push("    {}".into());
    }
    let mut yaml = kubeconfig(&cluster.join("\n"), &user.join("\n"));
    // Raw mutations of the text: flip, delete, duplicate, insert.
    let mutations = if hostility == 2 { rng.usize(1..4) } else { 0 };
    for _ in 0..mutations {
        let mut bytes = yaml.into_bytes();
        let at = rng.usize(..bytes.len());
        match rng.u8(..4) {
            0 => bytes[at] = rng.u8(..),
            1 => {
                let end = (at + rng.usize(1..20)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let end = (at + rng.usize(1..40)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            _ => {
                let ins = pick(rng, HOSTILE).into_bytes();
                bytes.splice(at..at, ins);
            }
        }
        yaml = String::from_utf8_lossy(&bytes).into_owned();
    }
    yaml
}

/// Property: whatever the kubeconfig, loading it, building a client and
/// sending one request returns (Ok or Err) and never panics. Seeded, so a
/// failure names the case to replay; `KUBECONFIG_FUZZ_CASES` runs more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_kubeconfig_panics_the_loader_the_client_or_a_request() {
    let cases: u64 = std::env::var("KUBECONFIG_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let seed: u64 = std::env::var("KUBECONFIG_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_cafe);
    ferroflux_runtime::tls::install_crypto_provider();
    // Nothing listens here: requests fail fast, after the whole client
    // stack (base URI, auth and impersonation headers, proxy) has run.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut loaded = 0;
    for case in 0..cases {
        let yaml = generate(&mut rng).replace("127.0.0.1:1", &format!("127.0.0.1:{port}"));
        let policy = Policy {
            allow_exec: false,
            allow_tls_files: rng.bool(),
        };
        let input = yaml.clone();
        let run = tokio::spawn(async move {
            let Ok(config) = load(&input, &policy).await else {
                return false;
            };
            let Ok(client) = client(config).await else {
                return false;
            };
            let sent =
                tokio::time::timeout(Duration::from_millis(500), client.apiserver_version()).await;
            if let Ok(Err(e)) = &sent {
                assert!(!worker_panicked(e), "the client's worker panicked: {e}");
            }
            true
        });
        match run.await {
            Ok(ok) => loaded += usize::from(ok),
            Err(e) => panic!(
                "case {case} (seed {seed}) panicked: {e}\npolicy: {policy:?}\n--- kubeconfig:\n{yaml}"
            ),
        }
    }
    // The generator must reach the client, not only the parser.
    assert!(
        loaded * 10 >= cases as usize,
        "only {loaded} of {cases} generated kubeconfigs reached a request"
    );
}

/// The property above has teeth: the same generator, fed to kube's own
/// loading and client (what kustomize-controller did before vetting),
/// finds a panic within the same number of cases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generator_finds_panics_in_the_unvetted_path() {
    ferroflux_runtime::tls::install_crypto_provider();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut rng = fastrand::Rng::with_seed(0x5eed_cafe);
    for _ in 0..600 {
        let yaml = generate(&mut rng).replace("127.0.0.1:1", &format!("127.0.0.1:{port}"));
        let run = tokio::spawn(async move {
            let Ok(kc) = kube::config::Kubeconfig::from_yaml(&yaml) else {
                return;
            };
            let Ok(config) = kube::Config::from_custom_kubeconfig(
                kc,
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            else {
                return;
            };
            if config.auth_info.exec.is_some() || config.auth_info.token_file.is_some() {
                return;
            }
            let Ok(client) = kube::Client::try_from(config) else {
                return;
            };
            let sent =
                tokio::time::timeout(Duration::from_millis(500), client.apiserver_version()).await;
            if let Ok(Err(e)) = &sent {
                assert!(!worker_panicked(e), "the client's worker panicked: {e}");
            }
        });
        if run.await.is_err_and(|e| e.is_panic()) {
            return;
        }
    }
    panic!("600 generated kubeconfigs and no panic in kube's own path");
}

/// kube sends requests through a tower `Buffer` whose worker is a task of
/// its own: a panic there (e.g. building the request URI) does not reach
/// the caller as a panic but as this error, for this and every later call.
fn worker_panicked(e: &kube::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        if err.to_string().contains("worker closed unexpectedly") {
            return true;
        }
        source = err.source();
    }
    false
}
