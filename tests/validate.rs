//! Valid models load with no diagnostics and resolve to what they say; the CLI's formats and
//! exit codes.

use cubec::resolve::{MeasureType, MemberRef, Relationship, RollingWindow};
use std::path::Path;
use std::process::Command;

fn checked(dir: &str) -> cubec::Checked {
    let c = cubec::check_model(Path::new(dir));
    let rendered = cubec::diag::render::to_human(&c.diagnostics, &c.sources, false);
    assert!(c.diagnostics.is_empty(), "{dir} should be clean:\n{rendered}");
    c
}

#[test]
fn referral_messages_seed_cube_loads() {
    let c = checked("tests/models/referral");
    let cube = c.model.cube_by_name("ReferralMessages").expect("cube");
    assert_eq!(cube.measures.len(), 3);
    let rate = &cube.measures[2];
    assert_eq!(rate.name, "personalizedReferralOutreachRate");
    assert_eq!(rate.type_, MeasureType::Number);
    assert_eq!(rate.sql.as_ref().unwrap().refs().count(), 2);
    assert!(cube.dimensions[0].primary_key && !cube.dimensions[0].public, "primary keys are hidden by default");
}

#[test]
fn shop_model_resolves_views_extends_and_merge_keys() {
    let c = checked("tests/models/shop");
    let m = &c.model;
    let orders = m.cube_by_name("orders").unwrap();
    let r7 = &orders.measures[orders
        .member("revenue_7d")
        .map(|r| match r {
            MemberRef::Measure(i) => i,
            _ => panic!(),
        })
        .unwrap()];
    assert_eq!(r7.type_, MeasureType::Sum, "merge key brings the type");
    assert_eq!(r7.format.as_deref(), Some("currency"));
    assert!(matches!(r7.rolling_window, Some(RollingWindow::Fixed { .. })));
    assert_eq!(orders.joins.len(), 2);
    assert_eq!(orders.joins[0].relationship, Relationship::ManyToOne);
    assert_eq!(orders.joins[1].relationship, Relationship::OneToMany);

    let big = m.cube_by_name("big_orders").unwrap();
    assert!(big.member("revenue").is_some(), "extends inherits members");
    assert_eq!(big.measures.iter().filter(|x| x.name == "count").count(), 1, "the child's count overrides");
    assert_eq!(big.joins.len(), 2, "extends inherits joins");

    let sales = m.cube_by_name("sales").unwrap();
    for name in ["count", "revenue", "users_city", "users_subscription", "product_category"] {
        assert!(sales.member(name).is_some(), "view member {name}");
    }
    assert!(sales.member("revenue_ytd").is_none(), "excluded");
    assert!(sales.member("users_plan").is_none(), "aliased");
    let Some(MemberRef::Dimension(i)) = sales.member("product_category") else { panic!() };
    let proxy = sales.dimensions[i].proxy.as_ref().unwrap();
    let path: Vec<&str> = proxy.join_path.iter().map(|c| m.cube(*c).name.as_str()).collect();
    assert_eq!(path, ["orders", "line_items", "products"]);
}

fn cubec(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cubec")).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn cli_exit_codes() {
    assert_eq!(cubec(&["validate", "--model", "tests/models/shop"]).0, 0);
    assert_eq!(cubec(&["validate", "--model", "tests/errors/r009_unknown_member_in_sql"]).0, 1);
    assert_eq!(cubec(&["validate", "--model", "tests/errors/r027_python_keyword_name"]).0, 0, "warnings only");
    assert_eq!(cubec(&["validate", "--format", "xml"]).0, 2);
    assert_eq!(cubec(&["validate", "--model", "does/not/exist"]).0, 1);
}

#[test]
fn cli_json_format() {
    let (code, out, _) = cubec(&["validate", "--model", "tests/errors/r009_unknown_member_in_sql", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "R009");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "tests/errors/r009_unknown_member_in_sql/model.yml");
    assert_eq!(d["line"], 13);
    assert_eq!(d["column"], 37);
    assert!(d["help"].as_str().unwrap().contains("count"));
}

#[test]
fn cli_github_format() {
    let (code, out, _) = cubec(&["validate", "--model", "tests/errors/r010_cycle_two_measures", "--format", "github"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("::error file=tests/errors/r010_cycle_two_measures/model.yml,line=10,col=15,title=R010::reference cycle: orders.a -> orders.b -> orders.a"),
        "{out}"
    );
}
