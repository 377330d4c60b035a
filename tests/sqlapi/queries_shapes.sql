-- name: order_limit_offset
-- rest: {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"], "order": [["users.count", "desc"]], "limit": 2, "offset": 1}
-- ordered: yes
SELECT acquisition_channel, MEASURE(count) c FROM users GROUP BY 1 ORDER BY c DESC LIMIT 2 OFFSET 1
--
-- name: order_by_position_and_name
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan", "users.acquisition_channel"], "order": [["users.plan", "asc"], ["users.acquisition_channel", "desc"]]}
-- ordered: yes
SELECT plan, acquisition_channel, COUNT(*) FROM users GROUP BY 1, 2 ORDER BY 1, acquisition_channel DESC
--
-- name: fetch_first
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"], "order": [["users.plan", "asc"]], "limit": 1}
-- ordered: yes
SELECT plan, COUNT(*) FROM users GROUP BY 1 ORDER BY 1 LIMIT 1
--
-- name: ungrouped_dimensions
-- rows: 0
SELECT channel, incentive FROM referrals WHERE sent_at < '2022-12-01'
--
-- name: select_star_limit
-- rows: 5
SELECT * FROM users ORDER BY account_id LIMIT 5
--
-- name: nulls_first_pushed_down
-- expect: [["free", "1177"], ["pro", "1176"], ["team", "1187"]]
SELECT plan, COUNT(*) FROM users GROUP BY 1 ORDER BY 1 NULLS FIRST
--
-- name: distinct_pushed_down
-- rows: 3
SELECT DISTINCT plan FROM users
--
-- name: join_through_cube_join_field
-- rest: {"measures": ["referrals.count"], "dimensions": ["users.plan"]}
SELECT u.plan, MEASURE(r.count) FROM referrals r JOIN users u ON r.__cubeJoinField = u.__cubeJoinField GROUP BY 1
--
-- name: cross_join_cubes
-- rest: {"measures": ["referrals.conversions"], "dimensions": ["users.acquisition_channel"]}
SELECT users.acquisition_channel, MEASURE(referrals.conversions) FROM referrals CROSS JOIN users GROUP BY 1
--
-- name: join_on_other_columns_refused
-- error: 0A000
-- message: __cubeJoinField
SELECT u.plan, MEASURE(r.count) FROM referrals r JOIN users u ON r.referrer_user_id = u.account_id GROUP BY 1
--
-- name: ambiguous_column
-- error: 42702
SELECT count FROM referrals CROSS JOIN users
--
-- name: subquery_post_processing
-- expect: [["4"]]
SELECT COUNT(*) FROM (SELECT acquisition_channel, MEASURE(count) AS n FROM users GROUP BY 1) q
--
-- name: cte_post_processing_sum
-- expect: [["3540"]]
WITH t AS (SELECT plan, COUNT(*) AS n FROM users GROUP BY 1) SELECT sum(n) AS total FROM t
--
-- name: expression_over_subquery
-- rows: 4
SELECT acquisition_channel, n * 100.0 / sum(n) OVER () AS share FROM (SELECT acquisition_channel, MEASURE(count) AS n FROM users GROUP BY 1) q
--
-- name: power_bi_min_max
-- columns: a0:timestamp, a1:timestamp
-- rows: 1
select max("rows"."signed_up_at") as "a0", min("rows"."signed_up_at") as "a1" from (select "signed_up_at" from "public"."users" "$Table") "rows"
--
-- name: superset_rowcount
-- expect: [["3"]]
SELECT COUNT(*) AS rowcount FROM (SELECT plan FROM public.users GROUP BY plan LIMIT 50000) AS rowcount_qry
--
-- name: union_of_semantic_queries
-- rows: 2
SELECT 'all' AS k, n FROM (SELECT COUNT(*) AS n FROM users) a UNION ALL SELECT 'pro', n FROM (SELECT COUNT(*) AS n FROM users WHERE plan = 'pro') b
--
-- name: bare_cube_in_outer_expression_pushed_down
-- rows: 3540
SELECT plan || '!' FROM (SELECT 1) x, users
--
-- name: over_the_row_maximum
-- error: 54000
SELECT MEASURE(count) FROM users LIMIT 50001
--
-- name: power_bi_nested_top_down
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"]}
select "_"."plan", "_"."a0" from (select "rows"."plan" as "plan", sum(cast("rows"."count" as decimal)) as "a0" from (select "plan", "count" from "public"."users" "$Table") "rows" group by "plan") "_" where not "_"."a0" is null limit 1000001
--
-- name: top_down_ratio_is_not_averaged
-- rest: {"measures": ["referrals.referral_conversion_rate"], "timeDimensions": [{"dimension": "referrals.sent_at", "granularity": "year"}]}
SELECT date_trunc('year', sent_at), MEASURE(referral_conversion_rate) FROM (SELECT channel, sent_at, referral_conversion_rate FROM referrals) q GROUP BY 1
--
-- name: top_down_with_inner_filter
-- rest: {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"], "filters": [{"member": "users.plan", "operator": "equals", "values": ["pro"]}]}
SELECT acquisition_channel, COUNT(*) FROM (SELECT acquisition_channel, plan FROM users WHERE plan = 'pro') t GROUP BY 1
--
-- name: qualified_star
-- rows: 5
SELECT u.* FROM users u ORDER BY account_id LIMIT 5
--
-- name: power_query_table_star
-- rows: 5
SELECT "$Table".* FROM "public"."users" "$Table" LIMIT 5
--
-- name: pushdown_limit_over_the_maximum_refused_when_more_rows_come
-- error: 54000
SELECT plan || '-' || acquisition_channel AS k FROM users, (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15)) x(n) LIMIT 100000000
