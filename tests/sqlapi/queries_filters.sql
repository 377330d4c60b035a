-- name: equals
-- rest: {"measures": ["users.count"], "filters": [{"member": "users.plan", "operator": "equals", "values": ["pro"]}]}
SELECT MEASURE(count) FROM users WHERE plan = 'pro'
--
-- name: not_equals
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"], "filters": [{"member": "users.plan", "operator": "notEquals", "values": ["pro"]}]}
SELECT plan, MEASURE(count) FROM users WHERE plan <> 'pro' GROUP BY 1
--
-- name: in_list
-- rest: {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"], "filters": [{"member": "users.acquisition_channel", "operator": "equals", "values": ["paid", "organic"]}]}
SELECT acquisition_channel, MEASURE(count) FROM users WHERE acquisition_channel IN ('paid', 'organic') GROUP BY 1
--
-- name: not_in_list
-- rest: {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"], "filters": [{"member": "users.acquisition_channel", "operator": "notEquals", "values": ["paid", "organic"]}]}
SELECT acquisition_channel, MEASURE(count) FROM users WHERE acquisition_channel NOT IN ('paid', 'organic') GROUP BY 1
--
-- name: is_null
-- rest: {"measures": ["referrals.count"], "filters": [{"member": "referrals.converted_at", "operator": "notSet"}]}
SELECT MEASURE(count) FROM referrals WHERE converted_at IS NULL
--
-- name: is_not_null
-- rest: {"measures": ["referrals.count"], "dimensions": ["referrals.channel"], "filters": [{"member": "referrals.converted_at", "operator": "set"}]}
SELECT channel, MEASURE(count) FROM referrals WHERE converted_at IS NOT NULL GROUP BY 1
--
-- name: like_prefix
-- rest: {"measures": ["users.count"], "filters": [{"member": "users.acquisition_channel", "operator": "startsWith", "values": ["pa"]}]}
SELECT MEASURE(count) FROM users WHERE acquisition_channel LIKE 'pa%'
--
-- name: like_suffix
-- rest: {"measures": ["users.count"], "filters": [{"member": "users.acquisition_channel", "operator": "endsWith", "values": ["ic"]}]}
SELECT MEASURE(count) FROM users WHERE acquisition_channel LIKE '%ic'
--
-- name: ilike_contains
-- rest: {"measures": ["users.count"], "filters": [{"member": "users.acquisition_channel", "operator": "contains", "values": ["AR"]}]}
SELECT MEASURE(count) FROM users WHERE acquisition_channel ILIKE '%AR%'
--
-- name: not_like
-- rest: {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"], "filters": [{"member": "users.acquisition_channel", "operator": "notContains", "values": ["ar"]}]}
SELECT acquisition_channel, MEASURE(count) FROM users WHERE acquisition_channel NOT LIKE '%ar%' GROUP BY 1
--
-- name: like_without_wildcards
-- rest: {"measures": ["users.count"], "filters": [{"member": "users.plan", "operator": "equals", "values": ["free"]}]}
SELECT MEASURE(count) FROM users WHERE plan LIKE 'free'
--
-- name: like_inner_wildcard_pushed_down
-- expect: [["1177"]]
SELECT MEASURE(count) FROM users WHERE plan LIKE 'f%e'
--
-- name: number_comparisons
-- rest: {"measures": ["users.count"], "filters": [{"member": "users.referrals_sent", "operator": "gte", "values": ["2"]}, {"member": "users.referrals_sent", "operator": "lt", "values": ["5"]}]}
SELECT MEASURE(count) FROM users WHERE referrals_sent >= 2 AND referrals_sent < 5
--
-- name: number_between
-- rest: {"measures": ["users.count"], "filters": [{"and": [{"member": "users.referrals_sent", "operator": "gte", "values": ["1"]}, {"member": "users.referrals_sent", "operator": "lte", "values": ["3"]}]}]}
SELECT MEASURE(count) FROM users WHERE referrals_sent BETWEEN 1 AND 3
--
-- name: number_not_between
-- rest: {"measures": ["users.count"], "filters": [{"or": [{"member": "users.referrals_sent", "operator": "lt", "values": ["1"]}, {"member": "users.referrals_sent", "operator": "gt", "values": ["3"]}]}]}
SELECT MEASURE(count) FROM users WHERE referrals_sent NOT BETWEEN 1 AND 3
--
-- name: or_and_nesting
-- rest: {"measures": ["users.count"], "filters": [{"or": [{"member": "users.plan", "operator": "equals", "values": ["pro"]}, {"and": [{"member": "users.acquisition_channel", "operator": "equals", "values": ["paid"]}, {"member": "users.is_icp", "operator": "equals", "values": ["true"]}]}]}]}
SELECT MEASURE(count) FROM users WHERE plan = 'pro' OR (acquisition_channel = 'paid' AND is_icp)
--
-- name: not_pushes_through
-- rest: {"measures": ["users.count"], "filters": [{"member": "users.plan", "operator": "notEquals", "values": ["pro"]}, {"member": "users.acquisition_channel", "operator": "set"}]}
SELECT MEASURE(count) FROM users WHERE NOT (plan = 'pro') AND NOT acquisition_channel IS NULL
--
-- name: boolean_dimension
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"], "filters": [{"member": "users.is_active", "operator": "equals", "values": ["true"]}]}
SELECT plan, MEASURE(count) FROM users WHERE is_active GROUP BY 1
--
-- name: boolean_is_false
-- rest: {"measures": ["users.count"], "filters": [{"member": "users.is_icp", "operator": "equals", "values": ["false"]}]}
SELECT MEASURE(count) FROM users WHERE is_icp IS FALSE
--
-- name: literal_on_the_left
-- rest: {"measures": ["users.count"], "filters": [{"member": "users.referrals_sent", "operator": "gt", "values": ["3"]}]}
SELECT MEASURE(count) FROM users WHERE 3 < referrals_sent
--
-- name: measure_in_where_is_a_measure_filter
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"], "filters": [{"member": "users.count", "operator": "gt", "values": ["100"]}]}
SELECT plan, MEASURE(count) FROM users WHERE count > 100 GROUP BY 1
--
-- name: having_measure
-- rest: {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"], "filters": [{"member": "users.count", "operator": "gte", "values": ["500"]}]}
SELECT acquisition_channel, MEASURE(count) FROM users GROUP BY 1 HAVING MEASURE(count) >= 500
--
-- name: having_alias
-- rest: {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"], "filters": [{"member": "users.count", "operator": "lt", "values": ["1000"]}]}
SELECT acquisition_channel, COUNT(*) AS n FROM users GROUP BY 1 HAVING n < 1000
--
-- name: having_or
-- rest: {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"], "filters": [{"or": [{"member": "users.count", "operator": "lt", "values": ["300"]}, {"member": "users.count", "operator": "gt", "values": ["1000"]}]}]}
SELECT acquisition_channel, COUNT(*) FROM users GROUP BY 1 HAVING COUNT(*) < 300 OR COUNT(*) > 1000
--
-- name: null_comparison_pushed_down
-- expect: [["0"]]
SELECT MEASURE(count) FROM users WHERE plan = NULL
--
-- name: function_in_where_pushed_down
-- expect: [["2364"]]
SELECT MEASURE(count) FROM users WHERE length(plan) > 3
--
-- name: aggregate_in_where_refused
-- error: 42803
SELECT MEASURE(count) FROM users WHERE SUM(count) > 3
