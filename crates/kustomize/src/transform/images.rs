//! `images`: rewrite container image names, tags and digests.

use serde_json::Value;

use super::config::FieldSpec;
use crate::kustomization::Image;
use crate::resource::Resource;

/// Splits an image reference into name and the tag/digest part (with its `:` or `@`).
fn split(image: &str) -> (&str, &str) {
    if let Some(at) = image.find('@') {
        return (&image[..at], &image[at..]);
    }
    let slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
    match image[slash..].find(':') {
        Some(c) => (&image[..slash + c], &image[slash + c..]),
        None => (image, ""),
    }
}

fn rewrite(image: &str, rule: &Image) -> Option<String> {
    let (name, rest) = split(image);
    if name != rule.name {
        return None;
    }
    let new_name = rule.new_name.as_deref().unwrap_or(name);
    let rest = if let Some(d) = &rule.digest {
        format!("@{d}")
    } else if let Some(t) = &rule.new_tag {
        format!(":{t}")
    } else {
        rest.to_string()
    };
    Some(format!("{new_name}{rest}"))
}

fn walk(value: &mut Value, rules: &[Image]) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if (k == "containers" || k == "initContainers")
                    && let Value::Array(items) = v
                {
                    for c in items.iter_mut() {
                        if let Some(Value::String(img)) = c.get_mut("image") {
                            for rule in rules {
                                if let Some(new) = rewrite(img, rule) {
                                    *img = new;
                                    break;
                                }
                            }
                        }
                    }
                }
                walk(v, rules);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, rules)),
        _ => {}
    }
}

/// Applies the image rules to every `containers`/`initContainers` anywhere.
/// With `specs`, also rewrites the image strings at those fields.
pub(crate) fn apply(resources: &mut [Resource], rules: &[Image], specs: &[FieldSpec]) {
    if rules.is_empty() {
        return;
    }
    for r in resources {
        walk(&mut r.value, rules);
        let applicable: Vec<&FieldSpec> = specs.iter().filter(|s| s.applies(r)).collect();
        for spec in applicable {
            super::visit(&mut r.value, &spec.path, false, &mut |v| {
                if let Value::String(img) = v
                    && let Some(new) = rules.iter().find_map(|rule| rewrite(img, rule))
                {
                    *img = new;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_tags_and_digests() {
        let rule = Image {
            name: "nginx".into(),
            new_tag: Some("1.2".into()),
            ..Default::default()
        };
        assert_eq!(rewrite("nginx:1.0", &rule).as_deref(), Some("nginx:1.2"));
        assert_eq!(rewrite("nginx", &rule).as_deref(), Some("nginx:1.2"));
        assert_eq!(rewrite("nginxx", &rule), None);
        let rule = Image {
            name: "reg:5000/a".into(),
            new_name: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(rewrite("reg:5000/a:1", &rule).as_deref(), Some("b:1"));
    }
}
