-- Statements BI tools send that are not one semantic query. Each runs through the SQL API (as
-- pushdown, or as post-processing where noted) and its rows must equal `-- source:`, the same
-- question written over the tables, run directly on PostgreSQL.
-- name: measure_divided
-- source: SELECT status, COUNT(*) / 2.0 AS half FROM pd_orders GROUP BY 1
SELECT status, MEASURE(count) / 2.0 AS half FROM orders GROUP BY 1
--
-- name: case_as_group_key_with_a_ratio_measure
-- source: SELECT CASE WHEN status = 'paid' THEN 'paid' ELSE 'other' END AS kind, COUNT(*) AS n, 100.0 * COUNT(CASE WHEN status = 'paid' THEN 1 END) / NULLIF(COUNT(*), 0) AS share FROM pd_orders GROUP BY 1
SELECT CASE WHEN status = 'paid' THEN 'paid' ELSE 'other' END AS kind, MEASURE(count) AS n, MEASURE(paid_share) AS share FROM orders GROUP BY 1
--
-- name: round_over_an_average
-- not_on: clickhouse its avg of a Decimal is a Float64, which round() takes half to even (53.125 -> 53.12)
-- source: SELECT status, ROUND(AVG(amount), 2) FROM pd_orders GROUP BY status
SELECT status, ROUND(MEASURE(avg_amount), 2) FROM orders GROUP BY status
--
-- name: metabase_cast_count
-- source: SELECT status, CAST(COUNT(*) AS FLOAT) AS n FROM pd_orders GROUP BY status
SELECT status, CAST(COUNT(*) AS FLOAT) AS n FROM orders GROUP BY status
--
-- name: rollup_subtotals
-- source: SELECT status, COUNT(*) AS n, SUM(amount) AS revenue FROM pd_orders GROUP BY ROLLUP (status)
SELECT status, COUNT(*) AS n, SUM(revenue) AS revenue FROM orders GROUP BY ROLLUP (status)
--
-- name: rollup_of_two_levels_over_a_view
-- not_on: mysql MariaDB has no GROUPING() (MySQL 8 does)
-- source: SELECT c.city, o.status, SUM(o.amount) AS revenue, COUNT(DISTINCT o.customer_id) AS buyers, GROUPING(c.city) AS gc FROM pd_orders o LEFT JOIN pd_customers c ON o.customer_id = c.id GROUP BY ROLLUP (c.city, o.status)
SELECT city, status, MEASURE(revenue) AS revenue, MEASURE(buyers) AS buyers, GROUPING(city) AS gc FROM order_facts GROUP BY ROLLUP (city, status)
--
-- name: grouping_sets
-- not_on: mysql MySQL and MariaDB have no GROUPING SETS
-- source: SELECT c.city, c.tier, COUNT(*) AS n FROM pd_orders o LEFT JOIN pd_customers c ON o.customer_id = c.id GROUP BY GROUPING SETS ((c.city), (c.tier), ())
SELECT city, tier, MEASURE(count) AS n FROM order_facts GROUP BY GROUPING SETS ((city), (tier), ())
--
-- name: cube_of_two_dimensions
-- not_on: mysql MySQL and MariaDB have no CUBE
-- source: SELECT c.city, c.tier, AVG(o.amount) AS a FROM pd_orders o LEFT JOIN pd_customers c ON o.customer_id = c.id GROUP BY CUBE (c.city, c.tier)
SELECT city, tier, MEASURE(avg_amount) AS a FROM order_facts GROUP BY CUBE (city, tier)
--
-- name: rank_window
-- source: SELECT status, SUM(amount) AS revenue, RANK() OVER (ORDER BY SUM(amount) DESC) AS rk FROM pd_orders GROUP BY 1
SELECT status, MEASURE(revenue) AS revenue, RANK() OVER (ORDER BY MEASURE(revenue) DESC) AS rk FROM orders GROUP BY 1
--
-- name: running_total_by_month
-- ordered: yes
-- source: SELECT DATE_TRUNC('month', created_at) AS m, SUM(amount) AS revenue, SUM(SUM(amount)) OVER (ORDER BY DATE_TRUNC('month', created_at)) AS running FROM pd_orders GROUP BY 1 ORDER BY 1
SELECT DATE_TRUNC('month', created_at) AS m, MEASURE(revenue) AS revenue, SUM(MEASURE(revenue)) OVER (ORDER BY DATE_TRUNC('month', created_at)) AS running FROM orders GROUP BY 1 ORDER BY 1
--
-- name: share_of_total_by_window
-- source: SELECT status, 100.0 * COUNT(*) / SUM(COUNT(*)) OVER () AS pct FROM pd_orders GROUP BY status
SELECT status, 100.0 * MEASURE(count) / SUM(MEASURE(count)) OVER () AS pct FROM orders GROUP BY status
--
-- name: having_on_an_expression
-- source: SELECT status, SUM(amount) AS revenue FROM pd_orders GROUP BY 1 HAVING SUM(amount) / COUNT(*) > 20
SELECT status, MEASURE(revenue) AS revenue FROM orders GROUP BY 1 HAVING MEASURE(revenue) / MEASURE(count) > 20
--
-- name: in_subquery_over_another_cube
-- source: SELECT status, COUNT(*) AS n FROM pd_orders WHERE customer_id IN (SELECT id FROM pd_customers WHERE city = 'Berlin') GROUP BY 1
SELECT status, MEASURE(count) AS n FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE city = 'Berlin') GROUP BY 1
--
-- name: scalar_subquery_share
-- source: SELECT status, SUM(amount) * 100.0 / (SELECT SUM(amount) FROM pd_orders) AS share FROM pd_orders GROUP BY 1
SELECT status, MEASURE(revenue) * 100.0 / (SELECT MEASURE(revenue) FROM orders) AS share FROM orders GROUP BY 1
--
-- name: union_of_a_segment_and_all_rows
-- source: SELECT 'paid' AS k, COUNT(*) AS n FROM pd_orders WHERE status = 'paid' UNION ALL SELECT 'all', COUNT(*) FROM pd_orders
SELECT 'paid' AS k, MEASURE(count) AS n FROM orders WHERE paid UNION ALL SELECT 'all', MEASURE(count) FROM orders
--
-- name: distinct_dimension
-- source: SELECT DISTINCT status FROM pd_orders
SELECT DISTINCT status FROM orders
--
-- name: nulls_first
-- not_on: mysql MySQL and MariaDB have no NULLS FIRST
-- ordered: yes
-- source: SELECT status, COUNT(*) AS n FROM pd_orders GROUP BY 1 ORDER BY 1 NULLS FIRST
SELECT status, COUNT(*) AS n FROM orders GROUP BY 1 ORDER BY 1 NULLS FIRST
--
-- name: like_with_an_inner_wildcard
-- source: SELECT COUNT(*) AS n FROM pd_orders WHERE status LIKE 'p%d'
SELECT MEASURE(count) AS n FROM orders WHERE status LIKE 'p%d'
--
-- name: quarter_of_a_ratio
-- source: SELECT DATE_TRUNC('quarter', created_at) AS q, 1.0 * SUM(amount) / NULLIF(COUNT(*), 0) AS rpo FROM pd_orders WHERE created_at >= '2024-02-01' GROUP BY 1
SELECT DATE_TRUNC('quarter', created_at) AS q, MEASURE(revenue_per_order) AS rpo FROM orders WHERE created_at >= '2024-02-01' GROUP BY 1
--
-- name: boolean_expression_as_group_key
-- not_on: mysql MySQL's booleans are 0 and 1, not true and false
-- not_on: clickhouse a comparison is a UInt8 there, 0 or 1
-- source: SELECT amount >= 50 AS big, COUNT(*) AS n, MAX(amount) AS top FROM pd_orders GROUP BY 1
SELECT amount >= 50 AS big, COUNT(*) AS n, MAX(max_amount) AS top FROM orders GROUP BY 1
--
-- name: coalesce_in_group_by
-- source: SELECT COALESCE(status, 'none') AS s, MIN(amount) AS low FROM pd_orders GROUP BY COALESCE(status, 'none')
SELECT COALESCE(status, 'none') AS s, MEASURE(min_amount) AS low FROM orders GROUP BY COALESCE(status, 'none')
--
-- name: segment_and_expression_filters
-- source: SELECT c.city, SUM(o.amount) AS revenue FROM pd_orders o LEFT JOIN pd_customers c ON o.customer_id = c.id WHERE o.status = 'paid' AND o.amount * 2 > 50 GROUP BY 1
SELECT city, MEASURE(revenue) AS revenue FROM order_facts WHERE amount * 2 > 50 AND status = 'paid' GROUP BY 1
--
-- name: cte_over_pushdown
-- source: WITH m AS (SELECT DATE_TRUNC('month', created_at) AS m, SUM(amount) AS r FROM pd_orders GROUP BY 1) SELECT MAX(r) AS best FROM m
WITH m AS (SELECT DATE_TRUNC('month', created_at) AS m, MEASURE(revenue) * 1.0 AS r FROM orders GROUP BY 1) SELECT MAX(r) AS best FROM m
--
-- name: a_function_off_the_list_is_refused
-- error: 42883
SELECT status, pg_read_file('/etc/passwd') FROM orders GROUP BY 1
--
-- name: a_table_outside_the_model_is_refused
-- error: 42P01
SELECT o.status, MEASURE(o.count) FROM orders o JOIN pg_shadow s ON true GROUP BY 1
--
-- name: two_cube_tables_joined_by_hand_are_refused
-- error: 0A000
-- message: __cubeJoinField
SELECT c.city, MEASURE(o.count) FROM orders o JOIN customers c ON o.customer_id = c.id GROUP BY 1
--
-- name: aggregate_in_where_is_refused
-- error: 42803
SELECT status, MEASURE(count) FROM orders WHERE MEASURE(count) > 1 GROUP BY 1
--
-- name: segment_in_a_pushdown
-- source: SELECT DATE_TRUNC('month', created_at) AS m, SUM(amount) AS revenue FROM pd_orders WHERE status = 'paid' AND amount * 2 > 50 GROUP BY 1
SELECT DATE_TRUNC('month', created_at) AS m, MEASURE(revenue) AS revenue FROM orders WHERE paid AND amount * 2 > 50 GROUP BY 1
--
-- name: star_next_to_an_expression
-- source: SELECT status, customer_id, amount, created_at, amount * 2 AS twice FROM pd_orders
SELECT o.*, o.amount * 2 AS twice FROM orders o
--
-- name: tableau_date_range_of_a_dimension
-- source: SELECT MIN(created_at) AS lo, MAX(created_at) AS hi FROM pd_orders
SELECT MIN(created_at) AS lo, MAX(created_at) AS hi FROM orders
--
-- name: distinct_count_of_a_dimension
-- source: SELECT COUNT(DISTINCT status) AS n FROM pd_orders
SELECT COUNT(DISTINCT status) AS n FROM orders
--
-- name: extract_year_and_month
-- source: SELECT EXTRACT(YEAR FROM created_at) AS y, EXTRACT(MONTH FROM created_at) AS mo, SUM(amount) AS revenue FROM pd_orders GROUP BY 1, 2
SELECT EXTRACT(YEAR FROM created_at) AS y, EXTRACT(MONTH FROM created_at) AS mo, MEASURE(revenue) AS revenue FROM orders GROUP BY 1, 2
--
-- name: cast_to_date_as_group_key
-- source: SELECT CAST(created_at AS DATE) AS d, COUNT(*) AS n FROM pd_orders WHERE created_at < '2024-03-01' GROUP BY 1
SELECT CAST(created_at AS DATE) AS d, COUNT(*) AS n FROM orders WHERE created_at < '2024-03-01' GROUP BY 1
--
-- name: lower_equals_filter
-- source: SELECT COUNT(*) AS n FROM pd_orders WHERE LOWER(status) = 'paid'
SELECT COUNT(*) AS n FROM orders WHERE LOWER(status) = 'paid'
--
-- name: case_over_a_measure
-- source: SELECT status, CASE WHEN COUNT(*) > 3 THEN 'many' ELSE 'few' END AS size FROM pd_orders GROUP BY 1
SELECT status, CASE WHEN MEASURE(count) > 3 THEN 'many' ELSE 'few' END AS size FROM orders GROUP BY 1
--
-- name: power_bi_sum_of_a_cast_measure_by_expression
-- source: SELECT UPPER(status) AS s, SUM(CAST(amount AS DECIMAL)) AS r FROM pd_orders GROUP BY UPPER(status)
SELECT UPPER(status) AS s, SUM(CAST(revenue AS DECIMAL)) AS r FROM orders GROUP BY UPPER(status)
--
-- name: coalesce_of_an_aggregate
-- source: SELECT c.tier, COALESCE(SUM(o.amount), 0) AS r FROM pd_orders o LEFT JOIN pd_customers c ON o.customer_id = c.id GROUP BY 1
SELECT tier, COALESCE(MEASURE(revenue), 0) AS r FROM order_facts GROUP BY 1
--
-- name: row_number_and_limit
-- ordered: yes
-- source: SELECT status, COUNT(*) AS n, ROW_NUMBER() OVER (ORDER BY COUNT(*) DESC, status) AS rn FROM pd_orders GROUP BY 1 ORDER BY rn LIMIT 2 OFFSET 1
SELECT status, MEASURE(count) AS n, ROW_NUMBER() OVER (ORDER BY MEASURE(count) DESC, status) AS rn FROM orders GROUP BY 1 ORDER BY rn LIMIT 2 OFFSET 1
--
-- name: lag_month_over_month
-- ordered: yes
-- source: SELECT DATE_TRUNC('month', created_at) AS m, SUM(amount) - LAG(SUM(amount)) OVER (ORDER BY DATE_TRUNC('month', created_at)) AS change FROM pd_orders GROUP BY 1 ORDER BY 1
SELECT DATE_TRUNC('month', created_at) AS m, MEASURE(revenue) - LAG(MEASURE(revenue)) OVER (ORDER BY DATE_TRUNC('month', created_at)) AS change FROM orders GROUP BY 1 ORDER BY 1
--
-- name: exists_subquery
-- source: SELECT c.city, COUNT(*) AS n FROM pd_customers c WHERE EXISTS (SELECT 1 FROM pd_orders o WHERE o.status = 'refunded' AND o.amount > 10) GROUP BY 1
SELECT city, MEASURE(count) AS n FROM customers WHERE EXISTS (SELECT 1 FROM orders WHERE status = 'refunded' AND amount > 10) GROUP BY 1
--
-- name: not_in_subquery_with_nulls_excluded
-- source: SELECT COUNT(*) AS n FROM pd_customers WHERE id NOT IN (SELECT customer_id FROM pd_orders WHERE customer_id IS NOT NULL)
SELECT MEASURE(count) AS n FROM customers WHERE id NOT IN (SELECT customer_id FROM orders WHERE customer_id IS NOT NULL)
--
-- name: except_of_two_cube_queries
-- source: SELECT city FROM pd_customers EXCEPT SELECT c.city FROM pd_orders o JOIN pd_customers c ON o.customer_id = c.id WHERE o.status = 'refunded'
SELECT city FROM customers EXCEPT SELECT city FROM order_facts WHERE status = 'refunded'
--
-- name: bare_measure_without_aggregate_is_refused
-- error: 42803
SELECT status, revenue + 1 FROM orders GROUP BY 1
--
-- name: union_inside_a_subquery
-- source: SELECT COUNT(*) AS n FROM (SELECT status FROM pd_orders WHERE amount > 50 UNION SELECT status FROM pd_orders WHERE amount < 8) q
SELECT COUNT(*) AS n FROM (SELECT status FROM orders WHERE amount > 50 UNION SELECT status FROM orders WHERE amount < 8) q
