//! Small helpers shared by the stages: Cube's name inflection and "did you mean" suggestions.

/// Cube's `inflection.underscore`: an `_` before every uppercase letter, one leading `_`
/// dropped (whether written or inserted), everything lowercased. `createdAt` -> `created_at`, `HTTPCode` -> `h_t_t_p_code`.
pub fn underscore(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    match out.strip_prefix('_') {
        Some(rest) => rest.to_string(),
        None => out,
    }
}

/// Model keys are snake_case; their camelCase twins (`sqlTable`) mean the same key.
pub fn snake_case(key: &str) -> std::borrow::Cow<'_, str> {
    if key.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(underscore(key))
    } else {
        std::borrow::Cow::Borrowed(key)
    }
}

/// Cube's alias for a member path: `SalesManagers.averageDealAmount` -> `sales_managers__average_deal_amount`.
pub fn alias_name(path: &str) -> String {
    underscore(path).replace('.', "__")
}

/// `^[_a-zA-Z][_a-zA-Z0-9]*$`, the identifier rule for cube, view and member names.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Python keywords: Cube parses `{...}` references as Python, so a member with such a name
/// cannot be referenced.
pub const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// The closest candidate to `word`, if any is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    // Similarity is quadratic in length; nobody mistypes a 200-character name.
    if word.len() > 200 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let score =
            if c.to_ascii_lowercase() == lower { 1.0 } else { strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()) };
        if score > 0.82 && best.map(|(b, _)| score > b).unwrap_or(true) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names_match_cube() {
        assert_eq!(alias_name("referral_messages.createdAt"), "referral_messages__created_at");
        assert_eq!(alias_name("SalesManagers.averageDealAmount"), "sales_managers__average_deal_amount");
        assert_eq!(alias_name("cardsA.type"), "cards_a__type");
        assert_eq!(alias_name("orders.total2Amount"), "orders__total2_amount");
        assert_eq!(alias_name("visitors.My_favorite_source"), "visitors___my_favorite_source");
        assert_eq!(alias_name("visitors.MY_FAVORITE_SOURCE"), "visitors___m_y__f_a_v_o_r_i_t_e__s_o_u_r_c_e");
        assert_eq!(alias_name("ABCCube.HTTPCode"), "a_b_c_cube___h_t_t_p_code");
        assert_eq!(alias_name("ReferralMessages"), "referral_messages");
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("_a1"));
        assert!(!is_identifier("1a"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("sql_tabel", ["sql", "sql_table", "title"]), Some("sql_table".into()));
        assert_eq!(did_you_mean("zzz", ["sql", "title"]), None);
    }
}
