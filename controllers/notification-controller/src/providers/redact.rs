//! Keeping secrets out of logs, events and status: URLs are shown without
//! credentials or query, and known secret values are masked in messages.

use reqwest::Url;

/// The mask put in place of secret values.
pub const MASK: &str = "*****";

/// A URL fit for messages: no userinfo, query or fragment; when the whole
/// address is secret (it came from a Secret, as chat webhook URLs embed
/// their token in the path), only scheme, host and port.
pub fn display_url(url: &Url, address_is_secret: bool) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    if address_is_secret && shown.path() != "/" {
        shown.set_path(MASK);
    }
    shown.to_string()
}

/// Sanitises every URL-looking word of free text (e.g. an error that
/// quotes an address): strips userinfo, query and fragment.
pub fn sanitize_text(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_end();
            let core =
                trimmed.trim_matches(|c| matches!(c, '"' | '\'' | '(' | ')' | ',' | '<' | '>'));
            if (core.starts_with("http://") || core.starts_with("https://"))
                && let Ok(url) = Url::parse(core)
            {
                word.replacen(core, &display_url(&url, false), 1)
            } else {
                word.to_string()
            }
        })
        .collect()
}

/// Masks each of `secrets` in `text`, then sanitises URLs.
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    // Longest first, so a secret containing another is masked whole.
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in sorted {
        out = out.replace(s.as_str(), MASK);
    }
    sanitize_text(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_query() {
        let u = Url::parse("https://user:pa55@example.com:8443/hook/x?token=abc#f").unwrap();
        assert_eq!(display_url(&u, false), "https://example.com:8443/hook/x");
        assert_eq!(display_url(&u, true), "https://example.com:8443/*****");
    }

    #[test]
    fn text_is_masked_and_sanitised() {
        let msg = "POST http://admin:hunter2@127.0.0.1:1/x?sig=zzz failed: token xoxb-123 rejected";
        let out = mask(msg, &["xoxb-123".to_string()]);
        assert_eq!(
            out,
            "POST http://127.0.0.1:1/x failed: token ***** rejected"
        );
    }
}
