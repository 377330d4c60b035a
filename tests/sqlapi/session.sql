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
--
-- name: declare_without_hold_outside_a_transaction_refused
-- error: 25P01
DECLARE c CURSOR FOR SELECT plan FROM users GROUP BY 1
--
-- name: cursor_fetches_in_steps
-- expect: [["pro", "1176"], ["team", "1187"]]
BEGIN; DECLARE c CURSOR FOR SELECT plan, MEASURE(count) FROM users GROUP BY 1 ORDER BY 1; FETCH 1 FROM c; FETCH 5 IN c
--
-- name: cursor_moves_and_fetches_backward
-- expect: [["pro", "1176"], ["free", "1177"]]
BEGIN; DECLARE c CURSOR FOR SELECT plan, MEASURE(count) FROM users GROUP BY 1 ORDER BY 1; MOVE FORWARD 3 IN c; FETCH BACKWARD 2 FROM c
--
-- name: move_reports_its_count
-- tag: MOVE 2
BEGIN; DECLARE c CURSOR FOR SELECT plan FROM users GROUP BY 1; MOVE 2 IN c
--
-- name: cursor_with_hold_outlives_the_transaction
-- expect: [["free"], ["pro"], ["team"]]
BEGIN; DECLARE "SQL_CUR0x1" CURSOR WITH HOLD FOR SELECT plan FROM users GROUP BY 1 ORDER BY 1; COMMIT; FETCH ALL IN "SQL_CUR0x1"
--
-- name: cursor_without_hold_ends_with_the_transaction
-- error: 34000
BEGIN; DECLARE c CURSOR FOR SELECT plan FROM users GROUP BY 1; COMMIT; FETCH 1 FROM c
--
-- name: cursor_over_a_pushdown_statement
-- expect: [["free", "2354"], ["pro", "2352"]]
BEGIN; DECLARE c CURSOR FOR SELECT plan, MEASURE(count) * 2 FROM users GROUP BY 1 ORDER BY 1; FETCH 2 FROM c
--
-- name: close_an_unknown_cursor_refused
-- error: 34000
CLOSE nothing_here
--
-- name: close_all
-- tag: CLOSE CURSOR
BEGIN; DECLARE c CURSOR FOR SELECT plan FROM users GROUP BY 1; CLOSE ALL
--
-- name: temporary_table_as_select
-- expect: [["3540"]]
CREATE TEMPORARY TABLE t AS SELECT plan, MEASURE(count) AS n FROM users GROUP BY 1; SELECT sum(n) FROM t
--
-- name: select_into_temp
-- expect: [["3"]]
SELECT plan INTO TEMP p FROM users GROUP BY 1; SELECT count(*) FROM p
--
-- name: dropped_temporary_table_is_gone
-- error: 42P01
CREATE TEMP TABLE t AS SELECT plan FROM users GROUP BY 1; DROP TABLE t; SELECT * FROM t
--
-- name: temporary_table_twice_refused
-- error: 42P07
CREATE TEMP TABLE t AS SELECT plan FROM users GROUP BY 1; CREATE TEMP TABLE t AS SELECT plan FROM users GROUP BY 1
--
-- name: drop_of_a_cube_refused
-- error: 42P01
DROP TABLE users
--
-- name: select_into_a_real_table_refused
-- error: 0A000
SELECT plan INTO kept FROM users GROUP BY 1
