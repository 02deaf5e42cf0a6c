//! Pseudo-random merges of list-heavy Deployments, compared with both kubectl peers:
//! the element order and matching rules are where the two implementations differ most,
//! and a fixed seed keeps the cases the same from run to run.

use ferroflux_kustomize::strategic_merge::{Flavor, strategic_merge_builtin};
use serde_json::{Value, json};

use crate::peer::{Case, compare, kustomize, patch_local};

/// A small deterministic generator (64-bit LCG); enough to vary test shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A few distinct items of `pool`, in random order.
    fn pick<'a>(&mut self, pool: &[&'a str], max: u64) -> Vec<&'a str> {
        let mut out = Vec::new();
        for _ in 0..self.below(max + 1) {
            let item = pool[self.below(pool.len() as u64) as usize];
            if !out.contains(&item) {
                out.push(item);
            }
        }
        out
    }
}

fn ports(rng: &mut Rng) -> Value {
    let mut out = Vec::new();
    for _ in 0..rng.below(3) {
        let port = [80, 53, 8080][rng.below(3) as usize];
        let mut p = json!({"containerPort": port});
        match rng.below(3) {
            0 => p["protocol"] = json!("TCP"),
            1 => p["protocol"] = json!("UDP"),
            _ => {}
        }
        if rng.chance(50) {
            p["name"] = json!(format!("p{}", rng.below(10)));
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Value::Array(out)
}

fn container(rng: &mut Rng, name: &str, in_patch: bool) -> Value {
    let mut c = json!({"name": name});
    if rng.chance(60) {
        c["image"] = json!(format!("{name}:{}", rng.below(3)));
    }
    if rng.chance(50) {
        let env: Vec<Value> = rng
            .pick(&["A", "B", "C"], 3)
            .into_iter()
            .map(|n| {
                if in_patch && rng.chance(20) {
                    json!({"name": n, "$patch": "delete"})
                } else {
                    json!({"name": n, "value": format!("{}", rng.below(5))})
                }
            })
            .collect();
        c["env"] = Value::Array(env);
    }
    if rng.chance(50) {
        c["ports"] = ports(rng);
    }
    if in_patch && rng.chance(10) {
        return json!({"name": name, "$patch": "delete"});
    }
    if in_patch && rng.chance(8) {
        c["image"] = Value::Null;
    }
    if in_patch && rng.chance(5) {
        c["$patch"] = json!("replace");
    }
    c
}

fn deployment(rng: &mut Rng, in_patch: bool) -> Value {
    let names = rng.pick(&["a", "b", "c", "d"], if in_patch { 3 } else { 4 });
    let mut containers: Vec<Value> = names
        .into_iter()
        .map(|n| container(rng, n, in_patch))
        .collect();
    if in_patch && rng.chance(5) {
        containers.insert(0, json!({"$patch": "replace"}));
    }
    if in_patch && rng.chance(3) {
        containers.push(json!({"image": "nameless"}));
    }
    let finalizers = rng.pick(&["f/1", "f/2", "f/3", "f/4"], 3);
    let mut d = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": containers}}}
    });
    if !finalizers.is_empty() {
        d["metadata"]["finalizers"] = json!(finalizers);
    }
    if !in_patch && d["spec"]["template"]["spec"]["containers"] == json!([]) {
        d["spec"]["template"]["spec"]["containers"] = json!([{"name": "z"}]);
    }
    d
}

/// The API server copies a newly added element verbatim, nulls and `$patch: delete`
/// entries of its `env` included, where this crate drops them (a documented
/// difference); such fields are left out of the API server's cases. A list-level
/// `replace` makes every element of the patch "new".
fn drop_nulls_and_directives_in_new_containers(base: &Value, patch: &mut Value) {
    let existing = |name: &Value| {
        base["spec"]["template"]["spec"]["containers"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| &c["name"] == name))
    };
    let Some(containers) = patch["spec"]["template"]["spec"]["containers"].as_array_mut() else {
        return;
    };
    let replaced = containers.iter().any(|c| c["$patch"] == "replace");
    for c in containers {
        if existing(&c["name"]) && !replaced {
            continue;
        }
        if let Some(map) = c.as_object_mut() {
            map.retain(|_, v| !v.is_null());
        }
        if let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) {
            env.retain(|e| e.get("$patch").is_none());
        }
    }
}

/// `count` cases from `seed`; the strings are leaked to fit the static case table.
fn cases(seed: u64, count: usize, flavor: Flavor) -> Vec<Case> {
    let mut rng = Rng(seed);
    (0..count)
        .map(|i| {
            let base = deployment(&mut rng, false);
            let mut patch = deployment(&mut rng, true);
            if flavor == Flavor::ApiServer {
                drop_nulls_and_directives_in_new_containers(&base, &mut patch);
            }
            Case {
                name: Box::leak(format!("generated #{i}").into_boxed_str()),
                base: Box::leak(base.to_string().into_boxed_str()),
                patch: Box::leak(patch.to_string().into_boxed_str()),
            }
        })
        .collect()
}

/// `SMP_SEED` picks other cases, `SMP_GENERATED_CASES` more of them, for exploring.
fn seed(base: u64) -> u64 {
    std::env::var("SMP_SEED")
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(base, |s| base ^ s.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn count() -> usize {
    std::env::var("SMP_GENERATED_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(25)
}

#[test]
fn generated_kustomize_merges_match_kubectl_kustomize() {
    compare(
        &cases(seed(7), count(), Flavor::Kustomize),
        |base, patch| {
            strategic_merge_builtin(base, patch, Flavor::Kustomize)
                .map(|v| (!v.is_null()).then_some(v))
                .map_err(|e| e.to_string())
        },
        kustomize,
    );
}

#[test]
fn generated_api_server_merges_match_kubectl_patch() {
    compare(
        &cases(seed(11), count(), Flavor::ApiServer),
        |base, patch| {
            strategic_merge_builtin(base, patch, Flavor::ApiServer)
                .map(Some)
                .map_err(|e| e.to_string())
        },
        |base, patch| patch_local(base, patch).map(Some),
    );
}
