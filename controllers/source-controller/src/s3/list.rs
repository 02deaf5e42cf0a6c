//! S3's XML answers: a ListObjectsV2 page and an error body.

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The key.
    pub key: String,
    /// The ETag without its quotes (as minio-go reports it, and so as
    /// Flux's index holds it).
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub struct Page {
    /// The objects of the page.
    pub objects: Vec<Object>,
    /// The token of the next page, when the listing is truncated.
    pub next: Option<String>,
}

/// An ETag without surrounding quotes (`"abc"` → `abc`).
pub fn trim_etag(etag: &str) -> String {
    let e = etag.trim();
    let e = e.strip_prefix('"').unwrap_or(e);
    e.strip_suffix('"').unwrap_or(e).to_string()
}

/// Parses a `ListBucketResult` page.
pub fn parse_page(xml: &str) -> Result<Page, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("invalid XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "ListBucketResult" {
        return Err(format!(
            "expected ListBucketResult, got {}",
            root.tag_name().name()
        ));
    }
    let child_text = |node: roxmltree::Node, name: &str| {
        node.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .map(|c| c.text().unwrap_or_default().to_string())
    };
    let mut page = Page::default();
    for contents in root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "Contents")
    {
        let key = child_text(contents, "Key").ok_or("an entry without Key")?;
        let etag = trim_etag(&child_text(contents, "ETag").unwrap_or_default());
        let size = child_text(contents, "Size")
            .unwrap_or_default()
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("object '{}' has no valid Size", key.escape_debug()))?;
        page.objects.push(Object { key, etag, size });
    }
    let truncated = child_text(root, "IsTruncated").is_some_and(|t| t.trim() == "true");
    if truncated {
        let token = child_text(root, "NextContinuationToken")
            .filter(|t| !t.is_empty())
            .ok_or("a truncated listing without NextContinuationToken")?;
        page.next = Some(token);
    }
    Ok(page)
}

/// The `Code` and `Message` of an S3 `<Error>` body, when it is one.
pub fn parse_error(xml: &str) -> Option<(String, String)> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "Error" {
        return None;
    }
    let text = |name: &str| {
        root.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .and_then(|c| c.text())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    Some((text("Code"), text("Message")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_a_continuation() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><IsTruncated>true</IsTruncated>
  <Contents><Key>a/x.yaml</Key><ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>1</Size></Contents>
  <Contents><Key>b &amp; c</Key><ETag>"abc-2"</ETag><Size>20</Size></Contents>
  <NextContinuationToken>tok/+=</NextContinuationToken>
</ListBucketResult>"#;
        let page = parse_page(xml).unwrap();
        assert_eq!(page.objects.len(), 2);
        assert_eq!(page.objects[0].etag, "0cc175b9c0f1b6a831c399e269772661");
        assert_eq!(page.objects[1].key, "b & c");
        assert_eq!(page.objects[1].size, 20);
        assert_eq!(page.next.as_deref(), Some("tok/+="));
    }

    #[test]
    fn bad_pages_are_errors() {
        assert!(parse_page("<nope").is_err());
        assert!(parse_page("<Error><Code>x</Code></Error>").is_err());
        assert!(
            parse_page("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")
                .is_err()
        );
        assert!(parse_page("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>").is_err());
        assert_eq!(
            parse_error("<Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>"),
            Some(("NoSuchBucket".into(), "gone".into()))
        );
    }
}
