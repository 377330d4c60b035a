//! Cube's filter operators, by their names in query JSON (`equals`, `inDateRange`, ...).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
    Set,
    NotSet,
    InDateRange,
    NotInDateRange,
    OnTheDate,
    BeforeDate,
    BeforeOrOnDate,
    AfterDate,
    AfterOrOnDate,
    MeasureFilter,
}

impl Operator {
    pub const ALL: &'static [(&'static str, Operator)] = &[
        ("equals", Operator::Equals),
        ("notEquals", Operator::NotEquals),
        ("contains", Operator::Contains),
        ("notContains", Operator::NotContains),
        ("startsWith", Operator::StartsWith),
        ("notStartsWith", Operator::NotStartsWith),
        ("endsWith", Operator::EndsWith),
        ("notEndsWith", Operator::NotEndsWith),
        ("in", Operator::In),
        ("notIn", Operator::NotIn),
        ("gt", Operator::Gt),
        ("gte", Operator::Gte),
        ("lt", Operator::Lt),
        ("lte", Operator::Lte),
        ("set", Operator::Set),
        ("notSet", Operator::NotSet),
        ("inDateRange", Operator::InDateRange),
        ("notInDateRange", Operator::NotInDateRange),
        ("onTheDate", Operator::OnTheDate),
        ("beforeDate", Operator::BeforeDate),
        ("beforeOrOnDate", Operator::BeforeOrOnDate),
        ("afterDate", Operator::AfterDate),
        ("afterOrOnDate", Operator::AfterOrOnDate),
        ("measureFilter", Operator::MeasureFilter),
    ];

    pub fn parse(s: &str) -> Option<Operator> {
        Operator::ALL.iter().find(|(n, _)| *n == s).map(|(_, o)| *o)
    }

    pub fn name(&self) -> &'static str {
        Operator::ALL.iter().find(|(_, o)| o == self).map(|(n, _)| *n).unwrap_or("")
    }

    /// Operators whose values are dates compared as UTC instants.
    pub fn is_date(&self) -> bool {
        matches!(
            self,
            Operator::InDateRange
                | Operator::NotInDateRange
                | Operator::OnTheDate
                | Operator::BeforeDate
                | Operator::BeforeOrOnDate
                | Operator::AfterDate
                | Operator::AfterOrOnDate
        )
    }

    pub fn needs_values(&self) -> bool {
        !matches!(self, Operator::Set | Operator::NotSet | Operator::MeasureFilter)
    }
}
