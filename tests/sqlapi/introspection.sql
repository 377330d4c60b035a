-- name: version
-- columns: version:text
-- rows: 1
SELECT version()
--
-- name: pg_catalog_version
-- rows: 1
select pg_catalog.version()
--
-- name: datagrip_session
-- columns: current_database:text, current_catalog:text, current_schema:text, current_user:text
-- expect: [["db", "db", "public", "tester"]]
select current_database(), current_catalog, current_schema(), current_user
--
-- name: dbeaver_session
-- expect: [["public", "tester"]]
SELECT current_schema(), session_user
--
-- name: information_schema_tables
-- rows: 19
SELECT * FROM information_schema.tables WHERE table_schema = 'public'
--
-- name: power_bi_columns_upper_case
-- expect: [["count", "1", "NO", "bigint"], ["active_users", "2", "NO", "bigint"]]
select COLUMN_NAME, ORDINAL_POSITION, IS_NULLABLE, DATA_TYPE from INFORMATION_SCHEMA.columns where TABLE_SCHEMA='public' and TABLE_NAME='users' order by ORDINAL_POSITION LIMIT 2
--
-- name: column_types_in_catalog
-- expect: [["signed_up_at", "timestamp without time zone"], ["acquisition_channel", "text"], ["is_active", "boolean"]]
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'users' AND column_name IN ('signed_up_at', 'acquisition_channel', 'is_active') ORDER BY ordinal_position
--
-- name: virtual_columns_last
-- expect: [["__cubeJoinField", "text"], ["__user", "text"]]
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position DESC LIMIT 2 OFFSET 0
--
-- name: psql_list_databases
-- rows: 1
SELECT d.datname as "Name", pg_catalog.pg_get_userbyid(d.datdba) as "Owner", pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding", d.datcollate as "Collate", d.datctype as "Ctype", pg_catalog.array_to_string(d.datacl, E'\n') AS "Access privileges" FROM pg_catalog.pg_database d ORDER BY 1
--
-- name: psql_dt
-- rows: 19
SELECT n.nspname as "Schema", c.relname as "Name", CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 's' THEN 'special' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type", pg_catalog.pg_get_userbyid(c.relowner) as "Owner" FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam WHERE c.relkind IN ('r','p','') AND n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_toast' AND n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1,2
--
-- name: psql_describe_lookup
-- rows: 1
SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(users)$' COLLATE pg_catalog.default AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 2, 3
--
-- name: superset_attributes
-- expect: [["count", "bigint", null, "true", "1"], ["active_users", "bigint", null, "true", "2"]]
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef) AS DEFAULT, a.attnotnull, a.attnum FROM pg_catalog.pg_attribute a WHERE a.attrelid = (SELECT oid FROM pg_class WHERE relname = 'users') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum LIMIT 2
--
-- name: npgsql_type_loading
-- rows: 8
SELECT ns.nspname, typ_and_elem_type.*, CASE WHEN typtype = 'b' AND elemtypoid IS NULL THEN 0 ELSE 1 END AS ord FROM (SELECT typ.oid, typ.typnamespace, typ.typname, typ.typtype, typ.typrelid, typ.typnotnull, typ.relkind, elemtyp.oid AS elemtypoid, elemtyp.typname AS elemtypname, elemcls.relkind AS elemrelkind, CASE WHEN elemproc.proname='array_recv' THEN 'a' ELSE elemtyp.typtype END AS elemtyptype FROM (SELECT typ.oid, typnamespace, typname, typrelid, typnotnull, relkind, typelem AS elemoid, CASE WHEN proc.proname='array_recv' THEN 'a' ELSE typ.typtype END AS typtype, CASE WHEN proc.proname='array_recv' THEN typ.typelem END AS elemtypoid FROM pg_type AS typ LEFT JOIN pg_class AS cls ON (cls.oid = typ.typrelid) LEFT JOIN pg_proc AS proc ON proc.oid = typ.typreceive) AS typ LEFT JOIN pg_type AS elemtyp ON elemtyp.oid = elemtypoid LEFT JOIN pg_class AS elemcls ON (elemcls.oid = elemtyp.typrelid) LEFT JOIN pg_proc AS elemproc ON elemproc.oid = elemtyp.typreceive) AS typ_and_elem_type JOIN pg_namespace AS ns ON (ns.oid = typnamespace) WHERE typtype IN ('b', 'r', 'm', 'e', 'd') AND typname IN ('bool', 'int8', 'float8', 'numeric', 'text', 'timestamp', 'timestamptz', 'date') ORDER BY ord
--
-- name: dbeaver_namespaces
-- expect: [["information_schema"], ["pg_catalog"], ["public"]]
SELECT n.nspname FROM pg_catalog.pg_namespace n LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass ORDER BY nspname
--
-- name: sqlalchemy_to_regtype
-- expect: [["bool", "16", "1000", "boolean", ","]]
SELECT typname AS name, oid, typarray AS array_oid, CAST(CAST(oid AS regtype) AS TEXT) AS regtype, typdelim AS delimiter FROM pg_type AS t WHERE t.oid = to_regtype('boolean')
--
-- name: sqlalchemy_hstore_lookup
-- rows: 0
SELECT t.oid, typarray FROM pg_type t JOIN pg_namespace ns ON typnamespace = ns.oid WHERE typname = 'hstore'
--
-- name: pg_get_keywords
-- rows: 10
SELECT word FROM pg_catalog.pg_get_keywords()
--
-- name: col_description
-- rows: 1
SELECT col_description((SELECT oid FROM pg_class WHERE relname = 'users'), 1)
--
-- name: has_privileges
-- expect: [["true", "true"]]
SELECT has_table_privilege('users', 'SELECT'), has_schema_privilege('public', 'USAGE')
--
-- name: pg_tables
-- rows: 19
SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public'
--
-- name: regclass_cast
-- expect: [["users"]]
SELECT relname FROM pg_class WHERE oid = 'public.users'::regclass
--
-- name: empty_catalog_tables
-- expect: [["0", "0", "0"]]
SELECT (SELECT count(*) FROM pg_index), (SELECT count(*) FROM pg_constraint), (SELECT count(*) FROM information_schema.key_column_usage)
--
-- name: unknown_catalog_table
-- error: 42P01
SELECT * FROM pg_catalog.pg_nothing
--
-- name: select_constant
-- expect: [["1"]]
SELECT 1
--
-- name: pg_settings_current_setting
-- expect: [["UTF8"]]
SELECT current_setting('server_encoding')
--
-- name: pg_type_base_types
-- expect: [["int8", "20"], ["numeric", "1700"], ["timestamp", "1114"]]
SELECT typname, oid FROM pg_catalog.pg_type WHERE typname IN ('int8', 'numeric', 'timestamp') ORDER BY oid = 1114, oid
--
-- name: generate_series_in_from
-- expect: [["6"]]
SELECT sum(i) FROM generate_series(1, 3) AS t(i)
--
-- name: no_file_access_from_sql
-- error: 42P01
SELECT * FROM read_csv('/etc/passwd')
--
-- name: no_file_access_in_a_subquery
-- error: 42P01
SELECT (SELECT count(*) FROM read_text('/etc/hostname')) AS n
--
-- name: expandarray_as_a_scalar_expands_rows
-- expect: [["10", "1"], ["20", "2"]]
SELECT (information_schema._pg_expandarray(ARRAY[10, 20])).x AS x, (information_schema._pg_expandarray(ARRAY[10, 20])).n AS n
--
-- name: generate_series_from_pg_catalog_names_its_column_by_the_alias
-- expect: [["1"], ["2"], ["3"]]
SELECT pos FROM pg_catalog.generate_series(1, 3) pos ORDER BY pos
--
-- name: string_to_array_in_from
-- expect: [["public"]]
SELECT trim(s[2]) FROM string_to_array(current_setting('search_path'), ',') s
--
-- name: search_path_in_a_table_function_argument
-- expect: [["1"], ["2"]]
SELECT i FROM generate_series(array_lower(string_to_array(current_setting('search_path'), ','), 1), array_upper(string_to_array(current_setting('search_path'), ','), 1)) AS i
--
-- name: current_setting_follows_set
-- expect: [["public"]]
SET search_path = 'public'; SELECT current_setting('search_path')
--
-- name: table_exists_probe
-- rows: 0
SELECT TRUE AS "_" FROM "public"."users" WHERE 1 <> 1 LIMIT 0
--
-- name: row_estimates_from_pg_stat_user_tables
-- expect: [["users", null]]
SELECT c.relname, NULLIF(s.n_live_tup, 0) FROM pg_catalog.pg_class c LEFT JOIN pg_stat_user_tables s ON s.relname = c.relname WHERE c.relname = 'users'
--
-- name: parse_ident
-- expect: [["{public,Users}"]]
SELECT parse_ident('public."Users"')
--
-- name: publications_of_schemas_and_rule_definitions
-- expect: [["0", null]]
SELECT (SELECT count(*) FROM pg_catalog.pg_publication_namespace), pg_catalog.pg_get_ruledef(1, true)
--
-- name: partition_ancestors_in_a_select_list
-- rows: 0
SELECT pg_catalog.pg_partition_ancestors(16385)
--
-- name: odbc_column_query_reads_relhasoids
-- expect: [["false"]]
SELECT DISTINCT c.relhasoids FROM pg_catalog.pg_class c WHERE c.relname = 'users'
--
-- name: format_as_postgresql_formats
-- expect: [["numeric", "public.users"]]
SELECT FORMAT('%s', 'numeric'), format('%I.%I', 'public', 'users')
