//! The committed KPI catalog (`metrics/docs/kpis.md`) must be what `cubec docs` generates from
//! the model today; regenerate it with `cubec docs --model metrics --out metrics/docs`.

#[test]
fn committed_kpi_catalog_is_current() {
    let checked = cubec::check_model(std::path::Path::new("metrics"));
    assert!(!checked.has_errors(), "metrics/ is valid");
    let dialects = cubec::sql::Dialects::builtin();
    let fresh = cubec::docs::catalog(&checked.model, &dialects).expect("catalog");
    let committed = std::fs::read_to_string("metrics/docs/kpis.md").unwrap_or_default();
    assert!(
        fresh == committed,
        "metrics/docs/kpis.md is stale: run `cubec docs --model metrics --out metrics/docs` and commit it"
    );
    for kpi in [
        "CAC via referral",
        "K-factor",
        "Referral rate",
        "Personalized Referral Outreach Rate",
        "Active affiliate rate",
    ] {
        assert!(fresh.contains(&format!("### {kpi}")), "the catalog lists {kpi}");
    }
}
