//! Malformed and hostile requests get the real error codes and never take
//! the server down.

use ferroflux_testenv::TestEnv;

/// One client per test: a pooled connection must not outlive its test's runtime.
fn http() -> reqwest::Client {
    // kube and reqwest share rustls; pick its provider once per process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn send(
    client: &reqwest::Client,
    env: &TestEnv,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> u16 {
    let resp = client
        .request(method.parse().unwrap(), format!("{}{path}", env.url()))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("the server answers");
    resp.status().as_u16()
}

#[tokio::test]
async fn malformed_requests_get_real_codes() {
    let env = TestEnv::start().await.unwrap();
    let client = http();
    let json = "application/json";
    let cases: Vec<(&str, &str, &str, &str, u16)> = vec![
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            json,
            "{not json",
            400,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            json,
            "[1,2]",
            400,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            json,
            r#"{"apiVersion":"v1","metadata":{"name":"x"}}"#,
            400,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            json,
            r#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}"#,
            400,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            json,
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}"#,
            400,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            json,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#,
            422,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            json,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":{"a":1}}}"#,
            422,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "text/plain",
            "hello",
            415,
        ),
        (
            "POST",
            "/apis/nothere.io/v1/namespaces/default/widgets",
            json,
            "{}",
            404,
        ),
        ("GET", "/apis/apps/v9/deployments", json, "", 404),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20b",
            json,
            "",
            400,
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps?continue=%%%",
            json,
            "",
            400,
        ),
        (
            "PUT",
            "/api/v1/namespaces/default/configmaps",
            json,
            "{}",
            405,
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/none",
            "application/merge-patch+json",
            "{}",
            404,
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/none",
            "application/xml",
            "<x/>",
            415,
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps/x/nope",
            json,
            "",
            404,
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=abc",
            json,
            "",
            400,
        ),
    ];
    for (method, path, ct, body, want) in cases {
        let got = send(&client, &env, method, path, ct, body.as_bytes().to_vec()).await;
        assert_eq!(got, want, "{method} {path} {body:?}");
    }
    let wrong_token = client
        .get(format!("{}/api/v1/namespaces", env.url()))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status().as_u16(), 401);
}

/// A tiny deterministic generator so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[tokio::test]
async fn random_bodies_never_break_the_server() {
    let env = TestEnv::start().await.unwrap();
    let client = http();
    let seeds: &[&[u8]] = &[
        br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"seed","labels":{"a":"b"}},"data":{"k":"v"}}"#,
        br#"[{"op":"add","path":"/data/x","value":"1"}]"#,
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seed\n",
        br#"{"metadata":{"finalizers":["a"],"ownerReferences":[{"uid":"x"}]}}"#,
    ];
    let targets = [
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/json",
        ),
        (
            "PUT",
            "/api/v1/namespaces/default/configmaps/seed",
            "application/json",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/seed",
            "application/merge-patch+json",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/seed",
            "application/json-patch+json",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/seed",
            "application/strategic-merge-patch+json",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/seed?fieldManager=fuzz",
            "application/apply-patch+yaml",
        ),
        (
            "DELETE",
            "/api/v1/namespaces/default/configmaps/seed",
            "application/json",
        ),
    ];
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for i in 0..600 {
        let seed = seeds[i % seeds.len()];
        let mut body = seed.to_vec();
        for _ in 0..(rng.next() % 6) {
            if body.is_empty() {
                break;
            }
            let pos = (rng.next() as usize) % body.len();
            match rng.next() % 3 {
                0 => body[pos] = (rng.next() % 256) as u8,
                1 => {
                    body.remove(pos);
                }
                _ => {
                    let specials = b"{}[]\":,\\\x00";
                    body.insert(pos, specials[(rng.next() as usize) % specials.len()]);
                }
            }
        }
        let (method, path, ct) = targets[(rng.next() as usize) % targets.len()];
        let code = send(&client, &env, method, path, ct, body).await;
        assert!(code < 500, "{method} {path} answered {code}");
    }
    // Still serving.
    assert_eq!(
        send(
            &client,
            &env,
            "GET",
            "/api/v1/namespaces",
            "application/json",
            Vec::new()
        )
        .await,
        200
    );
}
