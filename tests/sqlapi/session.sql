-- name: show_transaction_isolation
-- expect: [["read committed"]]
show transaction isolation level
--
-- name: tableau_batch
-- expect: [["read committed"]]
SET DateStyle = 'ISO';SET extra_float_digits = 2;show transaction_isolation
--
-- name: set_then_show
-- expect: [["x"]]
SET application_name = 'x'; SHOW application_name
--
-- name: show_unknown
-- error: 42704
SHOW foo
--
-- name: show_server_version
-- expect: [["14.2"]]
SHOW server_version
--
-- name: begin_select_commit
-- tag: Commit
BEGIN; SELECT 1; COMMIT
--
-- name: set_time_zone_utc
-- tag: SET
SET TIME ZONE 'UTC'
--
-- name: set_time_zone_to_a_zone
-- tag: SET
SET TIME ZONE 'Europe/Rome'
--
-- name: set_time_zone_unknown_refused
-- error: 22023
SET TIME ZONE 'Mars/Olympus_Mons'
--
-- name: write_statement_refused
-- error: 0A000
-- message: read-only
CREATE TABLE t (a int)
--
-- name: syntax_error
-- error: 42601
SELEC 1
