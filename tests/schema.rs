//! `cubec schema`: a JSON Schema whose keys are the loader's keys (snake_case and camelCase), with
//! the type enums. (`.ci/run` also validates every model under metrics/ and tests/models/
//! against it with python-jsonschema: scripts/schema_check.py.)

#[test]
fn the_schema_names_the_loaders_keys_and_enums() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cubec")).arg("schema").output().expect("cubec runs");
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let cube = &schema["properties"]["cubes"]["items"];
    assert_eq!(cube["additionalProperties"], false);
    for key in ["sql_table", "sqlTable", "pre_aggregations", "preAggregations", "joins", "measures"] {
        assert!(cube["properties"].get(key).is_some(), "cube key {key}");
    }
    let measure_types = &cube["properties"]["measures"]["items"]["properties"]["type"]["enum"];
    for t in ["count", "count_distinct", "countDistinct", "number", "rank"] {
        assert!(measure_types.as_array().is_some_and(|a| a.contains(&serde_json::json!(t))), "measure type {t}");
    }
    let relationship = &cube["properties"]["joins"]["items"]["properties"]["relationship"]["enum"];
    assert!(relationship.as_array().is_some_and(|a| a.contains(&serde_json::json!("many_to_one"))));
    assert_eq!(cube["properties"]["name"]["maxLength"], 256);
}
