-- name: measure_total
-- rest: {"measures": ["users.count"]}
-- columns: measure:int8
SELECT MEASURE(count) FROM users
--
-- name: count_star
-- rest: {"measures": ["users.count"]}
-- columns: count:int8
SELECT COUNT(*) FROM users
--
-- name: count_one_quoted_schema
-- rest: {"measures": ["users.count"]}
SELECT COUNT(1) FROM "public"."users"
--
-- name: measure_by_dimension
-- rest: {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"]}
-- columns: acquisition_channel:text, measure:int8
SELECT acquisition_channel, MEASURE(count) FROM users GROUP BY 1
--
-- name: group_by_name
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"]}
SELECT plan, MEASURE(count) AS n FROM users GROUP BY plan
--
-- name: group_by_alias
-- rest: {"measures": ["users.active_users"], "dimensions": ["users.plan"]}
SELECT plan AS p, MEASURE(active_users) AS n FROM users GROUP BY p
--
-- name: sum_of_sum_measure
-- rest: {"measures": ["revenue.mrr"], "dimensions": ["revenue.account_source"]}
-- columns: account_source:text, total:numeric
SELECT account_source, SUM(mrr) AS total FROM revenue GROUP BY 1
--
-- name: sum_over_count_measure
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"]}
SELECT plan, SUM(count) FROM users GROUP BY 1
--
-- name: avg_of_avg_measure
-- rest: {"measures": ["users.avg_days_to_first_referral"], "dimensions": ["users.acquisition_channel"]}
SELECT acquisition_channel, AVG(avg_days_to_first_referral) FROM users GROUP BY 1
--
-- name: number_measure_by_measure
-- rest: {"measures": ["users.active_referrer_rate", "users.k_factor"], "dimensions": ["users.acquisition_channel"]}
SELECT acquisition_channel, MEASURE(active_referrer_rate), MEASURE(k_factor) FROM users GROUP BY 1
--
-- name: several_measures
-- rest: {"measures": ["referrals.count", "referrals.conversions", "referrals.referral_conversion_rate"], "dimensions": ["referrals.channel"]}
SELECT channel, MEASURE(count) AS sent, MEASURE(conversions) AS won, MEASURE(referral_conversion_rate) AS rate FROM referrals GROUP BY 1
--
-- name: camel_case_and_quoted_names
-- rest: {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"]}
SELECT "users"."acquisition_channel", MEASURE("users"."count") FROM "users" GROUP BY 1
--
-- name: upper_case_identifiers_fold
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"]}
SELECT PLAN, MEASURE(COUNT) FROM USERS GROUP BY PLAN
--
-- name: table_alias
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"]}
SELECT u.plan, MEASURE(u.count) FROM users AS u GROUP BY 1
--
-- name: tableau_sum_count_with_having
-- rest: {"measures": ["users.count"], "filters": [{"member": "users.count", "operator": "gt", "values": ["0"]}]}
SELECT SUM("users"."count") AS "sum:count:ok" FROM "public"."users" "users" HAVING (COUNT(1) > 0)
--
-- name: view_measures
-- rest: {"measures": ["referral_kpis.active_referrer_rate", "referral_kpis.referrals_count"], "dimensions": ["referral_kpis.acquisition_channel"]}
SELECT acquisition_channel, MEASURE(active_referrer_rate), MEASURE(referrals_count) FROM referral_kpis GROUP BY 1
--
-- name: view_issue_example
-- rest: {"measures": ["referral_kpis.active_referrer_rate"], "dimensions": ["referral_kpis.acquisition_channel"], "timeDimensions": [{"dimension": "referral_kpis.signed_up_at", "dateRange": ["2024-01-01", "2024-12-31"]}]}
SELECT acquisition_channel, MEASURE(active_referrer_rate) FROM referral_kpis WHERE signed_up_at >= '2024-01-01' AND signed_up_at < '2025-01-01' GROUP BY 1 ORDER BY 2 DESC
--
-- name: multi_stage_time_shift_measure
-- rest: {"measures": ["referrals.count", "referrals.count_prior_month"], "timeDimensions": [{"dimension": "referrals.sent_at", "granularity": "month", "dateRange": ["2024-01-01", "2024-06-30"]}]}
SELECT DATE_TRUNC('month', sent_at) AS month, MEASURE(count), MEASURE(count_prior_month) FROM referrals WHERE sent_at BETWEEN '2024-01-01' AND '2024-06-30 23:59:59.999' GROUP BY 1
--
-- name: mismatched_aggregate
-- error: 42803
-- message: Measure aggregation type doesn't match
SELECT SUM(avg_days_to_first_referral) FROM users
--
-- name: max_over_sum_measure
-- error: 42803
-- message: 'mrr' is 'sum'
SELECT MAX(mrr) FROM revenue
--
-- name: measure_of_dimension
-- error: 42803
-- message: Dimension 'plan' was used with the aggregate function 'MEASURE()'
SELECT MEASURE(plan) FROM users
--
-- name: bare_measure_in_grouped_query
-- error: 42803
SELECT plan, count FROM users GROUP BY 1
--
-- name: ungrouped_dimension_with_aggregate
-- error: 42803
-- message: must appear in the GROUP BY clause
SELECT plan, MEASURE(count) FROM users
--
-- name: measure_as_group_key
-- error: 42803
SELECT count, MEASURE(count) FROM users GROUP BY 1
--
-- name: unknown_column
-- error: 42703
SELECT nope, MEASURE(count) FROM users GROUP BY 1
--
-- name: unknown_table
-- error: 42P01
SELECT MEASURE(count) FROM no_such_cube
--
-- name: expression_over_measure_pushed_down
-- expect: [["7080"]]
SELECT MEASURE(count) * 2 FROM users
--
-- name: window_function_refused
-- error: 0A000
SELECT plan, SUM(count) OVER () FROM users GROUP BY 1
