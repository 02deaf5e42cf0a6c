//! Built-in plugin configurations in `generators` and `transformers` (kustomize's
//! `apiVersion: builtin` kinds) that are not transformers; other plugins are refused
//! by name. Transformer configurations are read in [`crate::transformers`].

use serde_json::Value;

use crate::error::BuildError;
use crate::generators::GenKind;
use crate::kustomization::Generator;
use crate::resource::str_at;

/// The error for a plugin this engine does not have.
pub(crate) fn unknown_plugin(origin: &str, kind: &str, config: &Value) -> BuildError {
    let api = str_at(config, &["apiVersion"]);
    if api == "builtin" {
        BuildError::other(
            origin,
            format!("unable to load builtin {kind}.builtin.[noGrp]: not supported"),
        )
    } else {
        BuildError::Unsupported {
            path: origin.into(),
            field: format!("plugin {api}/{kind}"),
        }
    }
}

/// Reads one generator plugin configuration (ConfigMapGenerator or SecretGenerator).
pub(crate) fn generator(config: &Value, origin: &str) -> Result<(GenKind, Generator), BuildError> {
    let kind = match str_at(config, &["kind"]) {
        "ConfigMapGenerator" => GenKind::ConfigMap,
        "SecretGenerator" => GenKind::Secret,
        other => return Err(unknown_plugin(origin, other, config)),
    };
    let mut g: Generator =
        serde_json::from_value(config.clone()).map_err(|e| BuildError::Invalid {
            path: origin.into(),
            field: "generators".into(),
            message: e.to_string(),
        })?;
    g.name = Some(str_at(config, &["metadata", "name"]).to_string());
    let ns = str_at(config, &["metadata", "namespace"]);
    g.namespace = (!ns.is_empty()).then(|| ns.to_string());
    Ok((kind, g))
}
