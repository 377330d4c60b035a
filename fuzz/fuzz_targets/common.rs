// Shared by the query targets: a model with joins, a view, segments, custom granularities,
// rolling windows and sub_query dimensions (the test suite's shop model), loaded once.
use std::sync::OnceLock;

pub fn shop() -> &'static cubec::Checked {
    static MODEL: OnceLock<cubec::Checked> = OnceLock::new();
    MODEL.get_or_init(|| {
        let files = [
            ("orders.yml", include_str!("../../tests/models/shop/orders.yml")),
            ("users.yml", include_str!("../../tests/models/shop/users.yml")),
            ("shipments.yml", include_str!("../../tests/models/shop/shipments.yml")),
            ("views.yml", include_str!("../../tests/models/shop/views.yml")),
        ];
        let checked = cubec::check_texts(files.iter().map(|(p, t)| (p.into(), t.as_bytes().to_vec())).collect(), None);
        assert!(!checked.has_errors(), "the shop model loads");
        checked
    })
}

#[allow(dead_code)] // the query parser target needs no dialect
pub fn dialects() -> &'static cubec::sql::Dialects {
    static DIALECTS: OnceLock<cubec::sql::Dialects> = OnceLock::new();
    DIALECTS.get_or_init(|| cubec::sql::Dialects::load(None).unwrap_or_else(|_| panic!("built-in dialects load")))
}
