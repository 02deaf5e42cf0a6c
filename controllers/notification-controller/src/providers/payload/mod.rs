//! The JSON each chat service expects, as typed structs. They derive
//! `Deserialize` too, so tests (ours and anyone's) can parse what we send
//! as exactly that shape.

pub mod googlechat;
pub mod matrix;
pub mod msteams;
pub mod slack;
pub mod telegram;
pub mod webex;

/// `kind/name.namespace` (kind lower-cased): how Flux names the involved
/// object in chat messages.
pub fn object_title(event: &crate::intake::FluxEvent) -> String {
    let o = &event.involved_object;
    format!("{}/{}.{}", o.kind.to_lowercase(), o.name, o.namespace)
}
