//! The REST job layout (treeherder-client's `TreeherderJob`, and what Treeherder's
//! `JobLoader.transform()` makes of a pulse job): `{project, revision, job: {job_guid,
//! name, job_symbol, ..., epoch-second timestamps}, superseded}`.

use serde_json::{Map, Value, json};

use crate::model::time::days_from_civil;

/// Seconds since the epoch of an RFC 3339 time (`2025-02-26T22:45:17-08:00`, `...Z`,
/// fractions allowed); `None` when it is not one.
pub fn epoch_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?
            .parse::<i64>()
            .ok()
    };
    let (y, mo, d, h, mi, se) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (rest[1..3].parse::<i64>().ok()? * 3600 + rest[4..6].parse::<i64>().ok()? * 60)
        }
    };
    Some(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se - offset)
}

fn platform(m: &Value) -> Value {
    json!({"platform": m["platform"], "os_name": m["os"], "architecture": m["architecture"]})
}

/// Treeherder's result for a pulse job's `state`/`result` (fail is `testfailed` for
/// test jobs and `busted` otherwise).
fn result(job: &Value) -> &'static str {
    if job["state"] != "completed" {
        return "unknown";
    }
    match job["result"].as_str() {
        Some("success") => "success",
        Some("fail") if job["jobKind"] == "test" => "testfailed",
        Some("fail") => "busted",
        Some("exception") => "exception",
        Some("canceled") => "usercancel",
        Some("superseded") => "superseded",
        Some("retry") => "retry",
        _ => "unknown",
    }
}

/// The REST job item for a pulse job.
pub fn rest_job(p: &Value) -> Value {
    let mut job = Map::new();
    let d = &p["display"];
    let symbol = match d["chunkId"].as_u64() {
        Some(c) => format!("{}{c}", d["jobSymbol"].as_str().unwrap_or("")),
        None => d["jobSymbol"].as_str().unwrap_or("").to_owned(),
    };
    let (build, run) = match (p.get("buildMachine"), p.get("runMachine")) {
        (Some(b), Some(r)) => (Some(b), Some(r)),
        (Some(m), None) | (None, Some(m)) => (Some(m), Some(m)),
        (None, None) => (None, None),
    };
    job.insert("job_guid".into(), p["taskId"].clone());
    job.insert("name".into(), d["jobName"].clone());
    job.insert("job_symbol".into(), json!(symbol));
    job.insert("group_symbol".into(), d["groupSymbol"].clone());
    if let Some(g) = d.get("groupName") {
        job.insert("group_name".into(), g.clone());
    }
    if let Some(b) = build {
        job.insert("build_platform".into(), platform(b));
    }
    if let Some(r) = run {
        job.insert("machine_platform".into(), platform(r));
    }
    let machine = p["buildMachine"]["name"]
        .as_str()
        .or(p["runMachine"]["name"].as_str())
        .unwrap_or("unknown");
    job.insert("machine".into(), json!(machine));
    job.insert("build_system_type".into(), p["buildSystem"].clone());
    for (from, to) in [
        ("owner", "who"),
        ("reason", "reason"),
        ("productName", "product_name"),
    ] {
        if let Some(v) = p.get(from) {
            job.insert(to.into(), v.clone());
        }
    }
    job.insert("state".into(), p["state"].clone());
    job.insert("result".into(), json!(result(p)));
    job.insert("tier".into(), p.get("tier").cloned().unwrap_or(json!(1)));
    let labels: Map<String, Value> = p["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str())
        .map(|l| (l.to_owned(), json!(true)))
        .collect();
    job.insert(
        "option_collection".into(),
        if labels.is_empty() {
            json!({"opt": true})
        } else {
            Value::Object(labels)
        },
    );
    for (from, to) in [
        ("timeScheduled", "submit_timestamp"),
        ("timeStarted", "start_timestamp"),
        ("timeCompleted", "end_timestamp"),
    ] {
        if let Some(t) = p[from].as_str().and_then(epoch_seconds) {
            job.insert(to.into(), json!(t));
        }
    }
    let logs: Vec<Value> = p["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| json!({"url": l["url"], "name": l["name"], "parse_status": "pending"}))
        .collect();
    job.insert("log_references".into(), Value::Array(logs));
    let mut details = Vec::new();
    if let Some(s) = p["jobInfo"]["summary"].as_str() {
        details.push(json!({"content_type": "raw_html", "title": "Summary", "value": s}));
    }
    for l in p["jobInfo"]["links"].as_array().into_iter().flatten() {
        details.push(json!({"content_type": "link", "title": l["label"], "value": l["linkText"], "url": l["url"]}));
    }
    let artifacts = if details.is_empty() {
        vec![]
    } else {
        vec![
            json!({"name": "Job Info", "type": "json", "blob": {"job_details": details}, "job_guid": p["taskId"]}),
        ]
    };
    job.insert("artifacts".into(), Value::Array(artifacts));
    json!({
        "project": p["origin"]["project"],
        "revision": p["origin"]["revision"],
        "job": Value::Object(job),
        "superseded": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_to_epoch() {
        assert_eq!(
            epoch_seconds("2025-02-26T22:45:17-08:00"),
            Some(1_740_638_717)
        );
        assert_eq!(epoch_seconds("2023-11-14T22:13:20.5Z"), Some(1_700_000_000));
        assert_eq!(epoch_seconds("yesterday"), None);
        assert_eq!(epoch_seconds("2025-02-26T22:45:17"), None);
    }

    /// Every field Treeherder's own transform sets from the pulse job, for all 30 of its
    /// 2026 samples (`revision` there is the test push's, not the sample's).
    #[test]
    fn matches_treeherders_transform_of_its_samples() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/treeherder/samples/");
        let read = |f: &str| -> Vec<Value> {
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}{f}")).unwrap()).unwrap()
        };
        let (pulse, transformed) = (
            read("pulse-jobs.2026.json"),
            read("pulse-jobs.2026.transformed.json"),
        );
        let keys = [
            "job_guid",
            "name",
            "job_symbol",
            "group_symbol",
            "group_name",
            "build_platform",
            "machine_platform",
            "machine",
            "build_system_type",
            "who",
            "reason",
            "product_name",
            "state",
            "result",
            "tier",
            "submit_timestamp",
            "start_timestamp",
            "end_timestamp",
            "log_references",
        ];
        for (i, (p, want)) in pulse.iter().zip(&transformed).enumerate() {
            let got = rest_job(p);
            for k in keys {
                assert_eq!(got["job"].get(k), want["job"].get(k), "sample {i}: {k}");
            }
            if !p["labels"].as_array().is_none_or(Vec::is_empty) {
                assert_eq!(
                    got["job"]["option_collection"], want["job"]["option_collection"],
                    "sample {i}"
                );
            }
        }
    }
}
