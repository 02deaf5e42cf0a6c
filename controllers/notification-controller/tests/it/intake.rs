//! Intake answers: 202, 400 with a reason, 429 for duplicates, 413.

use serde_json::json;

use crate::{Env, event};

#[tokio::test]
async fn bad_payloads_get_400_with_a_reason() {
    let env = Env::start(&[]).await;
    let url = format!("http://{}/", env.controller.events_addr);
    let resp = env
        .http
        .post(&url)
        .body("{not json")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 400);
    assert!(
        resp.text()
            .await
            .unwrap_or_default()
            .contains("invalid event JSON")
    );

    let mut e = event("GitRepository", "ns", "a", "info", "m");
    e["severity"] = json!("fatal");
    let (code, body) = env.post_event(&e).await;
    assert_eq!(code, 400);
    assert!(body.contains("fatal"), "{body}");

    let mut e = event("GitRepository", "ns", "a", "info", "m");
    e["involvedObject"]
        .as_object_mut()
        .map(|o| o.remove("name"));
    assert_eq!(
        env.post_event(&e).await,
        (
            400,
            "invalid event: involvedObject.name is required".to_string()
        )
    );

    let big = vec![b'x'; 4 * 1024 * 1024];
    let resp = env.http.post(&url).body(big).send().await.expect("answer");
    assert_eq!(resp.status().as_u16(), 413);
    assert_eq!(env.controller.stats().events_accepted, 0);
}

#[tokio::test]
async fn identical_events_are_deduplicated() {
    let env = Env::start(&[]).await;
    let e = event("GitRepository", "ns", "a", "info", "stored artifact");
    assert_eq!(env.post_event(&e).await.0, 202);
    let (code, body) = env.post_event(&e).await;
    assert_eq!(code, 429);
    assert!(body.contains("GitRepository/ns/a"), "{body}");
    // Another revision is another event.
    let mut newer = e.clone();
    newer["metadata"]["source.toolkit.fluxcd.io/revision"] = json!("main@sha1:ffff");
    assert_eq!(env.post_event(&newer).await.0, 202);
    // A changed timestamp alone is still the same event.
    let mut later = e.clone();
    later["timestamp"] = json!("2024-05-01T10:01:00Z");
    assert_eq!(env.post_event(&later).await.0, 429);
    env.settle().await;
    let s = env.controller.stats();
    assert_eq!(
        (s.events_accepted, s.events_duplicate, s.events_rate_limited),
        (2, 2, 0)
    );
}

#[tokio::test]
async fn oversized_events_get_a_readable_413() {
    let env = Env::start_with(&[], |o| o.max_event_bytes = 64 * 1024).await;
    let url = format!("http://{}/", env.controller.events_addr);
    let mut e = event("GitRepository", "ns", "a", "info", "m");
    e["message"] = json!("x".repeat(3 * 1024 * 1024));
    let body = serde_json::to_vec(&e).expect("JSON");
    // With a Content-Length over the limit, and without one (chunked): the
    // sender reads a 413 every time, not a reset connection (several at
    // once, as a sender with a queue of them would).
    let answers = futures::future::join_all((0..16).map(|_| {
        let request = env.http.post(&url).body(body.clone());
        async move {
            let resp = request.send().await.map_err(|e| format!("{e:?}"))?;
            let code = resp.status().as_u16();
            Ok::<_, String>((code, resp.text().await.unwrap_or_default()))
        }
    }))
    .await;
    for answer in answers {
        let (code, text) = answer.expect("an answer, not a reset");
        assert_eq!(code, 413);
        assert!(text.contains("--max-event-bytes"), "{text}");
    }
    for _ in 0..4 {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
        let resp = env
            .http
            .post(&url)
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
            .send()
            .await
            .expect("an answer, not a reset");
        assert_eq!(resp.status().as_u16(), 413);
    }
    let s = env.controller.stats();
    assert_eq!((s.events_too_large, s.events_accepted), (20, 0));
    assert_eq!(s.intake_bytes, 0, "nothing held for refused bodies");
    // A body within the limit is taken.
    assert_eq!(
        env.post_event(&event("GitRepository", "ns", "a", "info", "small"))
            .await
            .0,
        202
    );
}
