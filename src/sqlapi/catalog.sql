-- The PostgreSQL catalog the SQL API answers introspection from, as DuckDB tables and macros
-- in schemas `pgc` (pg_catalog) and `pgi` (information_schema). Client queries are rewritten
-- to read these (see pgsql.rs); the rows about cubes are added per session (catalog.rs).
-- Column sets follow PostgreSQL 14; OIDs are PostgreSQL's own.
CREATE SCHEMA pgc;
CREATE SCHEMA pgi;

CREATE TABLE pgc.pg_namespace (oid INTEGER, nspname VARCHAR, nspowner INTEGER, nspacl VARCHAR);
INSERT INTO pgc.pg_namespace VALUES (11, 'pg_catalog', 10, NULL), (2200, 'public', 10, NULL),
  (13000, 'information_schema', 10, NULL);

CREATE TABLE pgc.pg_type (oid INTEGER, typname VARCHAR, typnamespace INTEGER, typowner INTEGER, typlen SMALLINT,
  typbyval BOOLEAN, typtype VARCHAR, typcategory VARCHAR, typispreferred BOOLEAN, typisdefined BOOLEAN,
  typdelim VARCHAR, typrelid INTEGER, typsubscript VARCHAR, typelem INTEGER, typarray INTEGER, typinput VARCHAR,
  typoutput VARCHAR, typreceive INTEGER, typsend INTEGER, typmodin INTEGER, typmodout INTEGER, typanalyze INTEGER,
  typalign VARCHAR, typstorage VARCHAR, typnotnull BOOLEAN, typbasetype INTEGER, typtypmod INTEGER,
  typndims INTEGER, typcollation INTEGER, typdefaultbin VARCHAR, typdefault VARCHAR, typacl VARCHAR);
-- Base types and their arrays: (oid, name, len, byval, category, elem, array, receive-proc oid, align).
INSERT INTO pgc.pg_type SELECT oid, typname, 11, 10, typlen, typbyval, 'b', typcategory, false, true, ',', 0,
  NULL, typelem, typarray, typname || 'in', typname || 'out', typreceive, 0, 0, 0, 0, typalign, 'p', false, 0, -1,
  0, CASE WHEN typcategory = 'S' THEN 100 ELSE 0 END, NULL, NULL, NULL
FROM (VALUES
  (16, 'bool', 1, true, 'B', 0, 1000, 2436, 'c'),
  (17, 'bytea', -1, false, 'U', 0, 1001, 2412, 'i'),
  (18, 'char', 1, true, 'Z', 0, 1002, 2434, 'c'),
  (19, 'name', 64, false, 'S', 0, 1003, 2422, 'c'),
  (20, 'int8', 8, true, 'N', 0, 1016, 2408, 'd'),
  (21, 'int2', 2, true, 'N', 0, 1005, 2404, 's'),
  (22, 'int2vector', -1, false, 'A', 21, 1006, 2450, 'i'),
  (23, 'int4', 4, true, 'N', 0, 1007, 2406, 'i'),
  (24, 'regproc', 4, true, 'N', 0, 1008, 2444, 'i'),
  (25, 'text', -1, false, 'S', 0, 1009, 2414, 'i'),
  (26, 'oid', 4, true, 'N', 0, 1028, 2418, 'i'),
  (30, 'oidvector', -1, false, 'A', 26, 1013, 2420, 'i'),
  (114, 'json', -1, false, 'U', 0, 199, 323, 'i'),
  (700, 'float4', 4, true, 'N', 0, 1021, 2424, 'i'),
  (701, 'float8', 8, true, 'N', 0, 1022, 2426, 'd'),
  (1042, 'bpchar', -1, false, 'S', 0, 1014, 2430, 'i'),
  (1043, 'varchar', -1, false, 'S', 0, 1015, 2432, 'i'),
  (1082, 'date', 4, true, 'D', 0, 1182, 2468, 'i'),
  (1083, 'time', 8, true, 'D', 0, 1183, 2470, 'd'),
  (1114, 'timestamp', 8, true, 'D', 0, 1115, 2474, 'd'),
  (1184, 'timestamptz', 8, true, 'D', 0, 1185, 2476, 'd'),
  (1186, 'interval', 16, false, 'T', 0, 1187, 2478, 'd'),
  (1700, 'numeric', -1, false, 'N', 0, 1231, 2460, 'i'),
  (2205, 'regclass', 4, true, 'N', 0, 2210, 2452, 'i'),
  (2206, 'regtype', 4, true, 'N', 0, 2211, 2454, 'i'),
  (2950, 'uuid', 16, false, 'U', 0, 2951, 2961, 'c'),
  (3802, 'jsonb', -1, false, 'U', 0, 3807, 3805, 'i'),
  (2249, 'record', -1, false, 'P', 0, 2287, 2402, 'd'),
  (2275, 'cstring', -2, false, 'P', 0, 1263, 2500, 'c'),
  (2276, 'any', 4, true, 'P', 0, 0, 0, 'i'),
  (2278, 'void', 4, true, 'P', 0, 0, 0, 'i')
) AS t(oid, typname, typlen, typbyval, typcategory, typelem, typarray, typreceive, typalign);
INSERT INTO pgc.pg_type SELECT typarray, '_' || typname, 11, 10, -1, false, 'b', 'A', false, true, ',', 0, NULL,
  oid, 0, 'array_in', 'array_out', 2400, 0, 0, 0, 0, typalign, 'x', false, 0, -1, 0, typcollation, NULL, NULL, NULL
FROM pgc.pg_type WHERE typarray <> 0;

CREATE TABLE pgc.pg_proc (oid INTEGER, proname VARCHAR, pronamespace INTEGER, proowner INTEGER, prolang INTEGER,
  procost REAL, prorows REAL, provariadic INTEGER, prosupport INTEGER, prokind VARCHAR, prosecdef BOOLEAN,
  proleakproof BOOLEAN, proisstrict BOOLEAN, proretset BOOLEAN, provolatile VARCHAR, proparallel VARCHAR,
  pronargs SMALLINT, pronargdefaults SMALLINT, prorettype INTEGER, proargtypes VARCHAR, proallargtypes VARCHAR,
  proargmodes VARCHAR, proargnames VARCHAR, proargdefaults VARCHAR, protrftypes VARCHAR, prosrc VARCHAR,
  probin VARCHAR, prosqlbody VARCHAR, proconfig VARCHAR, proacl VARCHAR);
-- The receive functions Npgsql joins pg_type.typreceive to, and a few others clients name.
INSERT INTO pgc.pg_proc SELECT oid, proname, 11, 10, 12, 1, 0, 0, 0, 'f', false, false, true, false, 'i', 's', 1,
  0, 0, '', NULL, NULL, NULL, NULL, NULL, proname, NULL, NULL, NULL, NULL
FROM (VALUES (2400, 'array_recv'), (2402, 'record_recv'), (2404, 'int2recv'), (2406, 'int4recv'),
  (2408, 'int8recv'), (2412, 'bytearecv'), (2414, 'textrecv'), (2418, 'oidrecv'), (2420, 'oidvectorrecv'),
  (2422, 'namerecv'), (2424, 'float4recv'), (2426, 'float8recv'), (2430, 'bpcharrecv'), (2432, 'varcharrecv'),
  (2434, 'charrecv'), (2436, 'boolrecv'), (2444, 'regprocrecv'), (2450, 'int2vectorrecv'), (2452, 'regclassrecv'),
  (2454, 'regtyperecv'), (2460, 'numeric_recv'), (2468, 'date_recv'), (2470, 'time_recv'),
  (2474, 'timestamp_recv'), (2476, 'timestamptz_recv'), (2478, 'interval_recv'), (2500, 'cstring_recv'),
  (2961, 'uuid_recv'), (323, 'json_recv'), (3805, 'jsonb_recv'), (89, 'version'), (1081, 'format_type'),
  (1716, 'pg_get_expr')) AS t(oid, proname);

CREATE TABLE pgc.pg_class (oid INTEGER, relname VARCHAR, relnamespace INTEGER, reltype INTEGER, reloftype INTEGER,
  relowner INTEGER, relam INTEGER, relfilenode INTEGER, reltablespace INTEGER, relpages INTEGER, reltuples REAL,
  relallvisible INTEGER, reltoastrelid INTEGER, relhasindex BOOLEAN, relisshared BOOLEAN, relpersistence VARCHAR,
  relkind VARCHAR, relnatts SMALLINT, relchecks SMALLINT, relhasrules BOOLEAN, relhastriggers BOOLEAN,
  relhassubclass BOOLEAN, relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, relispopulated BOOLEAN,
  relreplident VARCHAR, relispartition BOOLEAN, relrewrite INTEGER, relfrozenxid INTEGER, relminmxid INTEGER,
  relacl VARCHAR, reloptions VARCHAR[], relpartbound VARCHAR);

CREATE TABLE pgc.pg_attribute (attrelid INTEGER, attname VARCHAR, atttypid INTEGER, attstattarget INTEGER,
  attlen SMALLINT, attnum SMALLINT, attndims INTEGER, attcacheoff INTEGER, atttypmod INTEGER, attbyval BOOLEAN,
  attalign VARCHAR, attstorage VARCHAR, attcompression VARCHAR, attnotnull BOOLEAN, atthasdef BOOLEAN,
  atthasmissing BOOLEAN, attidentity VARCHAR, attgenerated VARCHAR, attisdropped BOOLEAN, attislocal BOOLEAN,
  attinhcount INTEGER, attcollation INTEGER, attacl VARCHAR, attoptions VARCHAR, attfdwoptions VARCHAR,
  attmissingval VARCHAR);

CREATE TABLE pgc.pg_description (objoid INTEGER, classoid INTEGER, objsubid INTEGER, description VARCHAR);
CREATE TABLE pgc.pg_database (oid INTEGER, datname VARCHAR, datdba INTEGER, encoding INTEGER,
  datcollate VARCHAR, datctype VARCHAR, datistemplate BOOLEAN, datallowconn BOOLEAN, datconnlimit INTEGER,
  datlastsysoid INTEGER, datfrozenxid INTEGER, datminmxid INTEGER, dattablespace INTEGER, datacl VARCHAR[]);
CREATE TABLE pgc.pg_roles (rolname VARCHAR, rolsuper BOOLEAN, rolinherit BOOLEAN, rolcreaterole BOOLEAN,
  rolcreatedb BOOLEAN, rolcanlogin BOOLEAN, rolreplication BOOLEAN, rolconnlimit INTEGER, rolpassword VARCHAR,
  rolvaliduntil TIMESTAMP, rolbypassrls BOOLEAN, rolconfig VARCHAR, oid INTEGER);
CREATE TABLE pgc.pg_user (usename VARCHAR, usesysid INTEGER, usecreatedb BOOLEAN, usesuper BOOLEAN,
  userepl BOOLEAN, usebypassrls BOOLEAN, passwd VARCHAR, valuntil TIMESTAMP, useconfig VARCHAR);
CREATE TABLE pgc.pg_am (oid INTEGER, amname VARCHAR, amhandler VARCHAR, amtype VARCHAR);
INSERT INTO pgc.pg_am VALUES (2, 'heap', 'heap_tableam_handler', 't'), (403, 'btree', 'bthandler', 'i');
CREATE TABLE pgc.pg_tablespace (oid INTEGER, spcname VARCHAR, spcowner INTEGER, spcacl VARCHAR, spcoptions VARCHAR);
INSERT INTO pgc.pg_tablespace VALUES (1663, 'pg_default', 10, NULL, NULL);
CREATE TABLE pgc.pg_settings (name VARCHAR, setting VARCHAR, unit VARCHAR, category VARCHAR, short_desc VARCHAR,
  extra_desc VARCHAR, context VARCHAR, vartype VARCHAR, source VARCHAR, min_val VARCHAR, max_val VARCHAR,
  enumvals VARCHAR, boot_val VARCHAR, reset_val VARCHAR, sourcefile VARCHAR, sourceline INTEGER,
  pending_restart BOOLEAN);
CREATE TABLE pgc.pg_tables (schemaname VARCHAR, tablename VARCHAR, tableowner VARCHAR, tablespace VARCHAR,
  hasindexes BOOLEAN, hasrules BOOLEAN, hastriggers BOOLEAN, rowsecurity BOOLEAN);
CREATE TABLE pgc.pg_range (rngtypid INTEGER, rngsubtype INTEGER, rngmultitypid INTEGER, rngcollation INTEGER,
  rngsubopc INTEGER, rngcanonical VARCHAR, rngsubdiff VARCHAR);
CREATE TABLE pgc.pg_collation (oid INTEGER, collname VARCHAR, collnamespace INTEGER, collowner INTEGER,
  collprovider VARCHAR, collisdeterministic BOOLEAN, collencoding INTEGER, collcollate VARCHAR, collctype VARCHAR,
  collversion VARCHAR);
INSERT INTO pgc.pg_collation VALUES (100, 'default', 11, 10, 'd', true, -1, NULL, NULL, NULL);

-- Empty, with PostgreSQL's columns: cubes have no indexes, constraints, defaults, rules, ...
CREATE TABLE pgc.pg_index (indexrelid INTEGER, indrelid INTEGER, indnatts SMALLINT, indnkeyatts SMALLINT,
  indisunique BOOLEAN, indisprimary BOOLEAN, indisexclusion BOOLEAN, indimmediate BOOLEAN, indisclustered BOOLEAN,
  indisvalid BOOLEAN, indcheckxmin BOOLEAN, indisready BOOLEAN, indislive BOOLEAN, indisreplident BOOLEAN,
  indkey INTEGER[], indcollation VARCHAR, indclass VARCHAR, indoption INTEGER[], indexprs VARCHAR, indpred VARCHAR,
  indnullsnotdistinct BOOLEAN);
CREATE TABLE pgc.pg_constraint (oid INTEGER, conname VARCHAR, connamespace INTEGER, contype VARCHAR,
  condeferrable BOOLEAN, condeferred BOOLEAN, convalidated BOOLEAN, conrelid INTEGER, contypid INTEGER,
  conindid INTEGER, conparentid INTEGER, confrelid INTEGER, confupdtype VARCHAR, confdeltype VARCHAR,
  confmatchtype VARCHAR, conislocal BOOLEAN, coninhcount INTEGER, connoinherit BOOLEAN, conkey INTEGER[],
  confkey INTEGER[], conpfeqop VARCHAR, conppeqop VARCHAR, conffeqop VARCHAR, conexclop VARCHAR, conbin VARCHAR);
CREATE TABLE pgc.pg_attrdef (oid INTEGER, adrelid INTEGER, adnum SMALLINT, adbin VARCHAR);
CREATE TABLE pgc.pg_inherits (inhrelid INTEGER, inhparent INTEGER, inhseqno INTEGER, inhdetachpending BOOLEAN);
CREATE TABLE pgc.pg_depend (classid INTEGER, objid INTEGER, objsubid INTEGER, refclassid INTEGER,
  refobjid INTEGER, refobjsubid INTEGER, deptype VARCHAR);
CREATE TABLE pgc.pg_enum (oid INTEGER, enumtypid INTEGER, enumsortorder REAL, enumlabel VARCHAR);
CREATE TABLE pgc.pg_views (schemaname VARCHAR, viewname VARCHAR, viewowner VARCHAR, definition VARCHAR);
CREATE TABLE pgc.pg_matviews (schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, tablespace VARCHAR,
  hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR);
CREATE TABLE pgc.pg_sequence (seqrelid INTEGER, seqtypid INTEGER, seqstart BIGINT, seqincrement BIGINT,
  seqmax BIGINT, seqmin BIGINT, seqcache BIGINT, seqcycle BOOLEAN);
CREATE TABLE pgc.pg_extension (oid INTEGER, extname VARCHAR, extowner INTEGER, extnamespace INTEGER,
  extrelocatable BOOLEAN, extversion VARCHAR, extconfig VARCHAR, extcondition VARCHAR);
CREATE TABLE pgc.pg_trigger (oid INTEGER, tgrelid INTEGER, tgparentid INTEGER, tgname VARCHAR, tgfoid INTEGER,
  tgtype SMALLINT, tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstrrelid INTEGER, tgconstrindid INTEGER,
  tgconstraint INTEGER, tgdeferrable BOOLEAN, tginitdeferred BOOLEAN, tgnargs SMALLINT, tgattr VARCHAR,
  tgargs VARCHAR, tgqual VARCHAR, tgoldtable VARCHAR, tgnewtable VARCHAR);
CREATE TABLE pgc.pg_rewrite (oid INTEGER, rulename VARCHAR, ev_class INTEGER, ev_type VARCHAR, ev_enabled VARCHAR,
  is_instead BOOLEAN, ev_qual VARCHAR, ev_action VARCHAR);
CREATE TABLE pgc.pg_policy (oid INTEGER, polname VARCHAR, polrelid INTEGER, polcmd VARCHAR, polpermissive BOOLEAN,
  polroles INTEGER[], polqual VARCHAR, polwithcheck VARCHAR);
CREATE TABLE pgc.pg_statistic_ext (oid INTEGER, stxrelid INTEGER, stxname VARCHAR, stxnamespace INTEGER,
  stxowner INTEGER, stxstattarget INTEGER, stxkeys VARCHAR, stxkind VARCHAR[], stxexprs VARCHAR);
CREATE TABLE pgc.pg_publication (oid INTEGER, pubname VARCHAR, pubowner INTEGER, puballtables BOOLEAN,
  pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN);
CREATE TABLE pgc.pg_publication_rel (oid INTEGER, prpubid INTEGER, prrelid INTEGER, prqual VARCHAR, prattrs VARCHAR);
CREATE TABLE pgc.pg_publication_namespace (oid INTEGER, pnpubid INTEGER, pnnspid INTEGER);
CREATE TABLE pgc.pg_stat_user_tables (relid INTEGER, schemaname VARCHAR, relname VARCHAR, seq_scan BIGINT,
  seq_tup_read BIGINT, idx_scan BIGINT, idx_tup_fetch BIGINT, n_tup_ins BIGINT, n_tup_upd BIGINT, n_tup_del BIGINT,
  n_live_tup BIGINT, n_dead_tup BIGINT, last_vacuum TIMESTAMP, last_autovacuum TIMESTAMP, last_analyze TIMESTAMP,
  last_autoanalyze TIMESTAMP);
CREATE TABLE pgc.pg_partitioned_table (partrelid INTEGER, partstrat VARCHAR, partnatts SMALLINT,
  partdefid INTEGER, partattrs VARCHAR, partclass VARCHAR, partcollation VARCHAR, partexprs VARCHAR);
CREATE TABLE pgc.pg_foreign_table (ftrelid INTEGER, ftserver INTEGER, ftoptions VARCHAR);
CREATE TABLE pgc.pg_foreign_server (oid INTEGER, srvname VARCHAR, srvowner INTEGER, srvfdw INTEGER,
  srvtype VARCHAR, srvversion VARCHAR, srvacl VARCHAR, srvoptions VARCHAR);
CREATE TABLE pgc.pg_event_trigger (oid INTEGER, evtname VARCHAR, evtevent VARCHAR, evtowner INTEGER,
  evtfoid INTEGER, evtenabled VARCHAR, evttags VARCHAR);
CREATE TABLE pgc.pg_auth_members (roleid INTEGER, member INTEGER, grantor INTEGER, admin_option BOOLEAN);
CREATE TABLE pgc.pg_shdescription (objoid INTEGER, classoid INTEGER, description VARCHAR);
CREATE TABLE pgc.pg_locks (locktype VARCHAR, database INTEGER, relation INTEGER, pid INTEGER, mode VARCHAR,
  granted BOOLEAN);
CREATE TABLE pgc.pg_stat_activity (datid INTEGER, datname VARCHAR, pid INTEGER, usename VARCHAR,
  application_name VARCHAR, client_addr VARCHAR, backend_start TIMESTAMP, state VARCHAR, query VARCHAR);
CREATE TABLE pgc.pg_timezone_names (name VARCHAR, abbrev VARCHAR, utc_offset INTERVAL, is_dst BOOLEAN);
INSERT INTO pgc.pg_timezone_names VALUES ('UTC', 'UTC', INTERVAL 0 SECOND, false);
CREATE TABLE pgc.pg_cast (oid INTEGER, castsource INTEGER, casttarget INTEGER, castfunc INTEGER,
  castcontext VARCHAR, castmethod VARCHAR);
CREATE TABLE pgc.pg_operator (oid INTEGER, oprname VARCHAR, oprnamespace INTEGER, oprowner INTEGER,
  oprkind VARCHAR, oprleft INTEGER, oprright INTEGER, oprresult INTEGER);
CREATE TABLE pgc.pg_language (oid INTEGER, lanname VARCHAR, lanowner INTEGER, lanispl BOOLEAN);
INSERT INTO pgc.pg_language VALUES (12, 'internal', 10, false), (14, 'sql', 10, false);

-- information_schema (the columns clients read).
CREATE TABLE pgi.schemata (catalog_name VARCHAR, schema_name VARCHAR, schema_owner VARCHAR,
  default_character_set_catalog VARCHAR, default_character_set_schema VARCHAR,
  default_character_set_name VARCHAR, sql_path VARCHAR);
CREATE TABLE pgi.tables (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR,
  self_referencing_column_name VARCHAR, reference_generation VARCHAR, user_defined_type_catalog VARCHAR,
  user_defined_type_schema VARCHAR, user_defined_type_name VARCHAR, is_insertable_into VARCHAR, is_typed VARCHAR,
  commit_action VARCHAR);
CREATE TABLE pgi.columns (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR,
  ordinal_position INTEGER, column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR,
  character_maximum_length INTEGER, character_octet_length INTEGER, numeric_precision INTEGER,
  numeric_precision_radix INTEGER, numeric_scale INTEGER, datetime_precision INTEGER, interval_type VARCHAR,
  interval_precision INTEGER, character_set_catalog VARCHAR, character_set_schema VARCHAR,
  character_set_name VARCHAR, collation_catalog VARCHAR, collation_schema VARCHAR, collation_name VARCHAR,
  domain_catalog VARCHAR, domain_schema VARCHAR, domain_name VARCHAR, udt_catalog VARCHAR, udt_schema VARCHAR,
  udt_name VARCHAR, scope_catalog VARCHAR, scope_schema VARCHAR, scope_name VARCHAR,
  maximum_cardinality INTEGER, dtd_identifier VARCHAR, is_self_referencing VARCHAR, is_identity VARCHAR,
  identity_generation VARCHAR, identity_start VARCHAR, identity_increment VARCHAR, identity_maximum VARCHAR,
  identity_minimum VARCHAR, identity_cycle VARCHAR, is_generated VARCHAR, generation_expression VARCHAR,
  is_updatable VARCHAR);
CREATE TABLE pgi.views (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  view_definition VARCHAR, check_option VARCHAR, is_updatable VARCHAR, is_insertable_into VARCHAR,
  is_trigger_updatable VARCHAR, is_trigger_deletable VARCHAR, is_trigger_insertable_into VARCHAR);
CREATE TABLE pgi.table_constraints (constraint_catalog VARCHAR, constraint_schema VARCHAR,
  constraint_name VARCHAR, table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  constraint_type VARCHAR, is_deferrable VARCHAR, initially_deferred VARCHAR, enforced VARCHAR,
  nulls_distinct VARCHAR);
CREATE TABLE pgi.key_column_usage (constraint_catalog VARCHAR, constraint_schema VARCHAR,
  constraint_name VARCHAR, table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  column_name VARCHAR, ordinal_position INTEGER, position_in_unique_constraint INTEGER);
CREATE TABLE pgi.referential_constraints (constraint_catalog VARCHAR, constraint_schema VARCHAR,
  constraint_name VARCHAR, unique_constraint_catalog VARCHAR, unique_constraint_schema VARCHAR,
  unique_constraint_name VARCHAR, match_option VARCHAR, update_rule VARCHAR, delete_rule VARCHAR);
CREATE TABLE pgi.constraint_column_usage (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  column_name VARCHAR, constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR);
CREATE TABLE pgi.character_sets (character_set_catalog VARCHAR, character_set_schema VARCHAR,
  character_set_name VARCHAR, character_repertoire VARCHAR, form_of_use VARCHAR,
  default_collate_catalog VARCHAR, default_collate_schema VARCHAR, default_collate_name VARCHAR);
INSERT INTO pgi.character_sets VALUES (NULL, NULL, 'UTF8', 'UCS', 'UTF8', NULL, NULL, NULL);
CREATE TABLE pgi.role_table_grants (grantor VARCHAR, grantee VARCHAR, table_catalog VARCHAR,
  table_schema VARCHAR, table_name VARCHAR, privilege_type VARCHAR, is_grantable VARCHAR, with_hierarchy VARCHAR);
CREATE TABLE pgi.routines (specific_catalog VARCHAR, specific_schema VARCHAR, specific_name VARCHAR,
  routine_catalog VARCHAR, routine_schema VARCHAR, routine_name VARCHAR, routine_type VARCHAR,
  data_type VARCHAR);
CREATE TABLE pgi.sequences (sequence_catalog VARCHAR, sequence_schema VARCHAR, sequence_name VARCHAR,
  data_type VARCHAR);

-- Functions clients call (those that depend on the session are created per session).
-- No subqueries in scalar macros: a caller's unqualified column (`format_type(oid, ...)`) would
-- bind inside them.
CREATE MACRO pgc.format_type(t, m) AS (
  CASE WHEN t IS NULL THEN NULL
       WHEN t = 1700 AND m IS NOT NULL AND m > 4 THEN 'numeric(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')'
       ELSE CASE t WHEN 16 THEN 'boolean' WHEN 17 THEN 'bytea' WHEN 18 THEN '"char"' WHEN 19 THEN 'name'
         WHEN 20 THEN 'bigint' WHEN 21 THEN 'smallint' WHEN 22 THEN 'int2vector' WHEN 23 THEN 'integer'
         WHEN 24 THEN 'regproc' WHEN 25 THEN 'text' WHEN 26 THEN 'oid' WHEN 30 THEN 'oidvector' WHEN 114 THEN 'json'
         WHEN 700 THEN 'real' WHEN 701 THEN 'double precision' WHEN 1042 THEN 'character'
         WHEN 1043 THEN 'character varying' WHEN 1082 THEN 'date' WHEN 1083 THEN 'time without time zone'
         WHEN 1114 THEN 'timestamp without time zone' WHEN 1184 THEN 'timestamp with time zone'
         WHEN 1186 THEN 'interval' WHEN 1700 THEN 'numeric' WHEN 2205 THEN 'regclass' WHEN 2206 THEN 'regtype'
         WHEN 2950 THEN 'uuid' WHEN 3802 THEN 'jsonb' WHEN 1000 THEN 'boolean[]' WHEN 1009 THEN 'text[]'
         WHEN 1016 THEN 'bigint[]' WHEN 1007 THEN 'integer[]' WHEN 1005 THEN 'smallint[]' WHEN 1022 THEN 'double precision[]'
         WHEN 1231 THEN 'numeric[]' WHEN 1115 THEN 'timestamp without time zone[]' WHEN 1182 THEN 'date[]'
         WHEN 1015 THEN 'character varying[]' WHEN 1028 THEN 'oid[]' ELSE '???' END END);
CREATE MACRO pgc.pg_get_expr(e, r) AS CAST(NULL AS VARCHAR), (e, r, p) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.pg_get_userbyid(u) AS 'cubec';
CREATE MACRO pgc.pg_table_is_visible(o) AS true;
CREATE MACRO pgc.pg_type_is_visible(o) AS true;
CREATE MACRO pgc.pg_function_is_visible(o) AS true;
CREATE MACRO pgc.pg_get_constraintdef(o) AS CAST(NULL AS VARCHAR), (o, p) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.pg_get_indexdef(o) AS CAST(NULL AS VARCHAR), (o, c, p) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.pg_get_partkeydef(o) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.pg_get_viewdef(o) AS CAST(NULL AS VARCHAR), (o, p) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.pg_get_triggerdef(o) AS CAST(NULL AS VARCHAR), (o, p) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.pg_get_statisticsobjdef_columns(o) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.pg_get_serial_sequence(t, c) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.pg_get_function_identity_arguments(o) AS '';
CREATE MACRO pgc.pg_get_function_result(o) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.pg_get_function_arguments(o) AS '';
CREATE MACRO pgc.pg_encoding_to_char(e) AS 'UTF8';
CREATE MACRO pgc.pg_total_relation_size(o) AS CAST(0 AS BIGINT);
CREATE MACRO pgc.pg_relation_size(o) AS CAST(0 AS BIGINT);
CREATE MACRO pgc.pg_table_size(o) AS CAST(0 AS BIGINT);
CREATE MACRO pgc.pg_indexes_size(o) AS CAST(0 AS BIGINT);
CREATE MACRO pgc.pg_tablespace_location(o) AS '';
CREATE MACRO pgc.pg_is_in_recovery() AS false;
CREATE MACRO pgc.pg_my_temp_schema() AS 0;
CREATE MACRO pgc.pg_is_other_temp_schema(o) AS false;
CREATE MACRO pgc.has_table_privilege(a, b) AS true, (a, b, c) AS true;
CREATE MACRO pgc.has_schema_privilege(a, b) AS true, (a, b, c) AS true;
CREATE MACRO pgc.has_database_privilege(a, b) AS true, (a, b, c) AS true;
CREATE MACRO pgc.has_column_privilege(a, b, c) AS true, (a, b, c, d) AS true;
CREATE MACRO pgc.has_any_column_privilege(a, b) AS true, (a, b, c) AS true;
CREATE MACRO pgc.has_function_privilege(a, b) AS true, (a, b, c) AS true;
CREATE MACRO pgc.obj_description(o) AS (SELECT first(x__d.description) FROM pgc.pg_description x__d WHERE x__d.objoid = o AND x__d.objsubid = 0), (o, c) AS (SELECT first(x__d.description) FROM pgc.pg_description x__d WHERE x__d.objoid = o AND x__d.objsubid = 0);
CREATE MACRO pgc.col_description(o, n) AS (SELECT first(x__d.description) FROM pgc.pg_description x__d WHERE x__d.objoid = o AND x__d.objsubid = n);
CREATE MACRO pgc.shobj_description(o, c) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.quote_ident(s) AS CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_]*') THEN s ELSE '"' || replace(s, '"', '""') || '"' END;
CREATE MACRO pgc.to_regtype(s) AS (SELECT first(x__t.oid) FROM pgc.pg_type x__t WHERE x__t.typname = lower(s)
  OR pgc.format_type(x__t.oid, NULL) = lower(s));
CREATE MACRO pgc.to_regclass(s) AS (SELECT first(x__c.oid) FROM pgc.pg_class x__c WHERE x__c.relname = s OR 'public.' || x__c.relname = s);
CREATE MACRO pgc.regclass(s) AS CASE WHEN TRY_CAST(s AS INTEGER) IS NOT NULL THEN TRY_CAST(s AS INTEGER)
  ELSE (SELECT first(x__c.oid) FROM pgc.pg_class x__c WHERE x__c.relname = regexp_replace(regexp_replace(CAST(s AS VARCHAR),
  '^(pg_catalog|public)\.', ''), '"', '', 'g')) END;
CREATE MACRO pgc.regtype(o) AS pgc.format_type(o, NULL);
CREATE MACRO pgc.regproc(o) AS CAST(o AS VARCHAR);
CREATE MACRO pgc.array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END;
CREATE MACRO pgc.array_upper(a, d) AS CASE WHEN len(a) > 0 THEN len(a) END;
CREATE MACRO pgc.pg_postmaster_start_time() AS TIMESTAMP '2026-01-01 00:00:00';
CREATE MACRO pgc.txid_current() AS CAST(1 AS BIGINT);
CREATE MACRO pgc.inet_server_addr() AS '127.0.0.1';
CREATE MACRO pgc.pg_get_keywords() AS TABLE SELECT * FROM (VALUES ('all', 'R', 'reserved'), ('and', 'R', 'reserved'),
  ('as', 'R', 'reserved'), ('by', 'R', 'reserved'), ('from', 'R', 'reserved'), ('group', 'R', 'reserved'),
  ('limit', 'R', 'reserved'), ('order', 'R', 'reserved'), ('select', 'R', 'reserved'), ('where', 'R', 'reserved'))
  AS t(word, catcode, catdesc);
CREATE MACRO pgc._pg_expandarray(a) AS TABLE SELECT unnest(a) AS x, generate_subscripts(a, 1) AS n;
CREATE MACRO pgc._pg_expandarray_rows(a) AS unnest(list_transform(range(1, len(a) + 1), lambda i: {'x': a[i], 'n': i}));
CREATE MACRO pgc.pg_get_ruledef(o) AS CAST(NULL AS VARCHAR), (o, p) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgc.pg_partition_ancestors(o) AS TABLE SELECT CAST(NULL AS INTEGER) AS relid, CAST(NULL AS BIGINT) AS depth WHERE false;
CREATE MACRO pgc.pg_partition_ancestors_rows(o) AS unnest(CAST([] AS INTEGER[]));
CREATE MACRO pgc.parse_ident(s) AS list_transform(string_split(s, '.'), lambda p: trim(p, '"')), (s, strict) AS list_transform(string_split(s, '.'), lambda p: trim(p, '"'));
CREATE MACRO pgc.pg_relation_is_publishable(o) AS false;
