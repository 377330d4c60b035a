//! `cubec sql` end to end: query sources, formats, arrays, --inline, --dialects, exit codes.

use std::io::Write;
use std::process::{Command, Stdio};

fn cubec(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cubec"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const MODEL: &[&str] = &["--model", "tests/models/referral"];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = vec!["sql"];
    v.extend_from_slice(MODEL);
    v.extend_from_slice(extra);
    v
}

#[test]
fn query_from_file_prints_sql_and_params() {
    let (code, out, err) =
        cubec(&args(&["--query", "tests/fixtures/outreach_by_week.json", "--dialect", "postgres"]), None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"referral_messages__created_at_week\""), "{out}");
    assert!(out.contains("$1::timestamptz"), "{out}");
    assert!(out.contains("-- params: [\"2024-01-01T00:00:00.000Z\",\"2024-03-31T23:59:59.999Z\"]"), "{out}");
}

#[test]
fn query_from_stdin_and_json_format() {
    let q = std::fs::read_to_string("tests/fixtures/outreach_by_week.json").unwrap();
    let (code, out, err) = cubec(&args(&["--query", "-", "--dialect", "bigquery", "--format", "json"]), Some(&q));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["sql"].as_str().unwrap().contains("TIMESTAMP(?)"));
    assert_eq!(v["params"][0], "2024-01-01T00:00:00.000000Z");
    assert_eq!(
        v["aliasNameToMember"]["referral_messages__personalized_referral_outreach_rate"],
        "ReferralMessages.personalizedReferralOutreachRate"
    );
}

#[test]
fn array_of_queries_answers_an_array_in_order() {
    let q =
        r#"[{"measures":["ReferralMessages.totalMessagesSent"]},{"measures":["ReferralMessages.customizedMessages"]}]"#;
    let (code, out, err) = cubec(&args(&["--query", q, "--dialect", "snowflake", "--format", "json"]), None);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(v[0]["sql"].as_str().unwrap().contains("total_messages_sent"));
    assert!(v[1]["sql"].as_str().unwrap().contains("customized_messages"));
}

#[test]
fn inline_escapes_values_through_one_function() {
    let q = r#"{"measures":["ReferralMessages.totalMessagesSent"],"filters":[{"member":"ReferralMessages.userId","operator":"equals","values":["o'brien; DROP TABLE x; --"]}]}"#;
    let (code, out, _) = cubec(&args(&["--query", q, "--dialect", "postgres", "--inline"]), None);
    assert_eq!(code, 0);
    assert!(out.contains("= 'o''brien; DROP TABLE x; --'"), "{out}");
    assert!(!out.contains("-- params"), "{out}");
    let (_, out, _) = cubec(&args(&["--query", q, "--dialect", "bigquery", "--inline"]), None);
    assert!(out.contains("= 'o\\'brien; DROP TABLE x; --'"), "{out}");
}

#[test]
fn unknown_member_exits_1_naming_it() {
    let (code, _, err) = cubec(&args(&["--query", r#"{"measures":["ReferralMessages.nope"]}"#]), None);
    assert_eq!(code, 1);
    assert!(err.contains("Q004") && err.contains("`nope` not found in `ReferralMessages`"), "{err}");
}

#[test]
fn invalid_model_shows_its_diagnostics() {
    let (code, _, err) = cubec(
        &["sql", "--model", "tests/errors/r009_unknown_member_in_sql", "--query", r#"{"measures":["orders.count"]}"#],
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("R009"), "{err}");
}

#[test]
fn bad_json_and_unknown_dialect() {
    assert_eq!(cubec(&args(&["--query", "{not json"]), None).0, 1);
    let (code, _, err) = cubec(
        &args(&["--query", r#"{"measures":["ReferralMessages.totalMessagesSent"]}"#, "--dialect", "oracle"]),
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown dialect `oracle`"), "{err}");
}

#[test]
fn dialects_dir_overrides_a_builtin() {
    let dir =
        tempdir_with(&[("postgres.yml", &std::fs::read_to_string("tests/fixtures/dialects/postgres.yml").unwrap())]);
    let (code, out, err) =
        cubec(&args(&["--query", "tests/fixtures/outreach_by_week.json", "--dialects", dir.to_str().unwrap()]), None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(":1::timestamptz"), "{out}");
    let (code, _, err) = cubec(
        &args(&["--query", "tests/fixtures/outreach_by_week.json", "--dialects", "tests/fixtures/dialects"]),
        None,
    );
    assert_eq!(code, 1, "a broken dialect file is reported");
    assert!(err.contains("S002") && err.contains("broken"), "{err}");
}

fn tempdir_with(files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cubec-dialects-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

#[test]
fn security_context_filters_become_parameters() {
    let run = |ctx: &str| {
        cubec(
            &[
                "sql",
                "--model",
                "tests/models/secure",
                "--query",
                r#"{"measures":["orders.count"]}"#,
                "--security-context",
                ctx,
            ],
            None,
        )
    };
    let (code, out, err) = run(r#"{"schema": "acme", "tenant": "t'1", "regions": ["eu", "us"]}"#);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("FROM acme.orders"), "{out}");
    assert!(out.contains("WHERE tenant_id = $1"), "{out}");
    assert!(out.contains("AND region IN ($2, $3)"), "{out}");
    assert!(out.contains(r#"-- params: ["t'1","eu","us"]"#), "{out}");

    // Values the context lacks: filters fall away (`1 = 1`, as Cube), a pasted value is an error.
    let (code, out, err) = run(r#"{"schema": "acme"}"#);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("WHERE 1 = 1") && out.contains("AND 1 = 1"), "{out}");
    let (code, _, err) = run(r#"{"tenant": "a"}"#);
    assert_eq!(code, 1);
    assert!(err.contains("Q017") && err.contains("`schema`"), "{err}");
    let (code, _, err) = run("[1]");
    assert_eq!(code, 2);
    assert!(err.contains("must be a JSON object"), "{err}");
}

/// `cubec query` splits a `compareDateRange` query into one query per range: a list of bodies,
/// each row tagged with its range, each part's rows equal to the same query with that range.
#[cfg(feature = "engine")]
#[test]
fn compare_date_range_runs_one_query_per_range() {
    let td = |range: &str| {
        format!(
            r#"{{"measures": ["users.count"], "timeDimensions": [{{"dimension": "users.signed_up_at", "granularity": "month", {range}}}]}}"#
        )
    };
    let compare = td(r#""compareDateRange": [["2024-01-01", "2024-01-31"], ["2024-02-01", "2024-02-29"]]"#);
    let (code, out, err) = cubec(&["query", "--model", "metrics", "--format", "json", "--query", &compare], None);
    assert_eq!(code, 0, "{err}");
    let bodies: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(bodies.as_array().map(Vec::len), Some(2), "{out}");
    for (i, (range, label)) in [
        (r#""dateRange": ["2024-01-01", "2024-01-31"]"#, "2024-01-01T00:00:00.000 - 2024-01-31T23:59:59.999"),
        (r#""dateRange": ["2024-02-01", "2024-02-29"]"#, "2024-02-01T00:00:00.000 - 2024-02-29T23:59:59.999"),
    ]
    .into_iter()
    .enumerate()
    {
        let (code, alone, err) =
            cubec(&["query", "--model", "metrics", "--format", "json", "--query", &td(range)], None);
        assert_eq!(code, 0, "{err}");
        let alone: serde_json::Value = serde_json::from_str(&alone).expect("json");
        let mut want = alone["data"].clone();
        for row in want.as_array_mut().expect("rows") {
            row["compareDateRange"] = serde_json::json!(label);
        }
        assert!(!want.as_array().expect("rows").is_empty());
        assert_eq!(bodies[i]["data"], want, "range {i}");
    }
}
