//! The stable diagnostic codes, grouped by stage: `L` load, `R` resolve, `Q` query, `S` SQL
//! rendering and dialects, `X` execution. A code never changes meaning once published; retired
//! codes are not reused.

macro_rules! codes {
    ($($variant:ident = $code:literal, $slug:literal;)*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            /// The code as printed, e.g. `R009`.
            pub fn as_str(&self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A short kebab-case name, e.g. `unknown-reference`.
            pub fn slug(&self) -> &'static str {
                match self { $(Code::$variant => $slug,)* }
            }

            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];
        }
    };
}

codes! {
    // load
    Io = "L001", "io-error";
    YamlSyntax = "L002", "yaml-syntax";
    Encoding = "L003", "encoding";
    TopLevelKey = "L004", "top-level-key";
    WrongType = "L005", "wrong-type";
    UnknownKey = "L006", "unknown-key";
    MissingKey = "L007", "missing-key";
    DuplicateKey = "L008", "duplicate-key";
    InputLimit = "L009", "input-limit";
    NoModel = "L010", "no-model-files";
    Template = "L011", "template";
    JsModel = "L012", "js-model";
    EmptyFile = "L013", "empty-file";
    // resolve
    InvalidIdentifier = "R001", "invalid-identifier";
    DuplicateCube = "R002", "duplicate-cube";
    DuplicateMember = "R003", "duplicate-member";
    CubeSqlXor = "R004", "cube-sql-xor";
    InvalidMeasureType = "R005", "invalid-measure-type";
    InvalidDimensionType = "R006", "invalid-dimension-type";
    InvalidRelationship = "R007", "invalid-relationship";
    MissingSql = "R008", "missing-sql";
    UnknownReference = "R009", "unknown-reference";
    ReferenceCycle = "R010", "reference-cycle";
    UnknownJoinTarget = "R011", "unknown-join-target";
    MissingPrimaryKey = "R012", "missing-primary-key";
    UnknownExtends = "R013", "unknown-extends";
    ExtendsCycle = "R014", "extends-cycle";
    ViewJoinPath = "R015", "view-join-path";
    ViewUnknownMember = "R016", "view-unknown-member";
    ViewIncludeConflict = "R017", "view-include-conflict";
    ViewPrefixSplit = "R018", "view-prefix-split";
    RollingWindow = "R019", "rolling-window";
    Granularity = "R020", "granularity";
    InvalidFormat = "R021", "invalid-format";
    ReferenceSyntax = "R022", "reference-syntax";
    InvalidValue = "R023", "invalid-value";
    ViewOwnMember = "R024", "view-own-member";
    UnknownMember = "R025", "unknown-member";
    PreAggregation = "R026", "pre-aggregation";
    ReservedName = "R027", "reserved-name";
    ViewIncludePath = "R028", "view-include-path";
    RefreshKey = "R029", "refresh-key";
    DimensionCase = "R030", "dimension-case";
    KeyConflict = "R031", "key-conflict";
    DimensionReferencesMeasure = "R032", "dimension-references-measure";
    AccessPolicy = "R033", "access-policy";
    MultiStage = "R034", "multi-stage";
    // query
    QueryJson = "Q001", "query-json";
    QueryUnknownField = "Q002", "query-unknown-field";
    QueryMemberName = "Q003", "query-member-name";
    QueryUnknownMember = "Q004", "query-unknown-member";
    QueryMemberKind = "Q005", "query-member-kind";
    QueryDateRange = "Q006", "query-date-range";
    QueryFilter = "Q007", "query-filter";
    QueryOrder = "Q008", "query-order";
    QueryLimit = "Q009", "query-limit";
    QueryTimezone = "Q010", "query-timezone";
    QueryGranularity = "Q011", "query-granularity";
    QueryEmpty = "Q012", "query-empty";
    QueryUngrouped = "Q013", "query-ungrouped";
    QueryJoinPath = "Q014", "query-join-path";
    QueryHiddenMember = "Q015", "query-hidden-member";
    QueryUnsupported = "Q016", "query-unsupported";
    QuerySecurityContext = "Q017", "query-security-context";
    AccessDenied = "Q018", "access-denied";
    QueryMultiStage = "Q019", "query-multi-stage";
    // sql rendering and dialects
    DialectFile = "S001", "dialect-file";
    DialectTemplate = "S002", "dialect-template";
    UnknownDialect = "S003", "unknown-dialect";
    SqlRender = "S004", "sql-render";
}
