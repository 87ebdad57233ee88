//! treeherder-client's own checks of a collection before it is sent: required fields
//! present and not empty, and its maximum lengths.

use serde_json::Value;

use crate::sinks::treeherder_http::Endpoint;

/// treeherder-client's own checks before sending: required fields present and not
/// empty, and its maximum lengths.
pub fn client_checks(endpoint: Endpoint, items: &[Value]) -> Vec<String> {
    fn need(problems: &mut Vec<String>, i: usize, item: &Value, path: &[&str], max: Option<usize>) {
        match path
            .iter()
            .try_fold(item, |v, k| v.get(k))
            .and_then(|v| v.as_str())
        {
            None | Some("") => problems.push(format!("item {i}: {} is required", path.join("."))),
            Some(s) => {
                if let Some(max) = max.filter(|&m| s.chars().count() > m) {
                    problems.push(format!(
                        "item {i}: {} is longer than {max} characters",
                        path.join(".")
                    ));
                }
            }
        }
    }
    let mut p = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match endpoint {
            Endpoint::Jobs => {
                need(&mut p, i, item, &["project"], None);
                need(&mut p, i, item, &["revision"], Some(40));
                if item.get("job").is_some_and(Value::is_object) {
                    need(&mut p, i, item, &["job", "job_guid"], Some(50));
                } else {
                    p.push(format!("item {i}: job must be an object"));
                }
            }
            Endpoint::Resultset => {
                need(&mut p, i, item, &["revision"], Some(40));
                need(&mut p, i, item, &["author"], Some(150));
                match item.get("revisions").and_then(Value::as_array) {
                    Some(revs) => {
                        for r in revs {
                            need(&mut p, i, r, &["revision"], Some(50));
                            need(&mut p, i, r, &["repository"], None);
                        }
                    }
                    None => p.push(format!("item {i}: revisions must be a list")),
                }
            }
            Endpoint::Artifact => {
                for k in ["type", "name", "job_guid"] {
                    need(&mut p, i, item, &[k], None);
                }
                if item
                    .get("blob")
                    .is_none_or(|b| b.is_null() || b.as_str() == Some(""))
                {
                    p.push(format!("item {i}: blob is required"));
                }
            }
        }
    }
    p
}
