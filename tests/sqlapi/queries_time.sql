-- name: date_trunc_month
-- rest: {"measures": ["users.count"], "timeDimensions": [{"dimension": "users.signed_up_at", "granularity": "month"}]}
-- columns: m:timestamp, measure:int8
SELECT DATE_TRUNC('month', signed_up_at) AS m, MEASURE(count) FROM users GROUP BY 1
--
-- name: date_trunc_qtr_alias
-- rest: {"measures": ["users.count"], "timeDimensions": [{"dimension": "users.signed_up_at", "granularity": "quarter"}]}
SELECT DATE_TRUNC('qtr', signed_up_at), MEASURE(count) FROM users GROUP BY 1
--
-- name: date_function_is_day
-- rest: {"measures": ["referrals.count"], "timeDimensions": [{"dimension": "referrals.sent_at", "granularity": "day", "dateRange": ["2024-03-01", "2024-03-07"]}]}
SELECT DATE(sent_at), MEASURE(count) FROM referrals WHERE sent_at >= '2024-03-01' AND sent_at < '2024-03-08' GROUP BY 1
--
-- name: week_and_year
-- rest: {"measures": ["referrals.count"], "timeDimensions": [{"dimension": "referrals.sent_at", "granularity": "week", "dateRange": ["2024-01-01", "2024-02-29"]}]}
SELECT date_trunc('WEEK', sent_at) w, MEASURE(count) FROM referrals WHERE sent_at >= TIMESTAMP '2024-01-01 00:00:00' AND sent_at <= '2024-02-29 23:59:59.999' GROUP BY 1
--
-- name: group_by_repeated_expression
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"], "timeDimensions": [{"dimension": "users.signed_up_at", "granularity": "year"}]}
SELECT plan, date_trunc('year', signed_up_at), MEASURE(count) FROM users GROUP BY plan, date_trunc('year', signed_up_at)
--
-- name: date_range_postgres_midnight
-- rest: {"measures": ["referrals.count"], "filters": [{"member": "referrals.sent_at", "operator": "beforeOrOnDate", "values": ["2024-02-29T00:00:00.000"]}, {"member": "referrals.sent_at", "operator": "afterOrOnDate", "values": ["2024-02-01T00:00:00.000"]}]}
SELECT MEASURE(count) FROM referrals WHERE sent_at <= '2024-02-29' AND sent_at >= '2024-02-01'
--
-- name: after_date_alone
-- rest: {"measures": ["referrals.count"], "filters": [{"member": "referrals.sent_at", "operator": "afterDate", "values": ["2024-06-01T00:00:00.000"]}]}
SELECT MEASURE(count) FROM referrals WHERE sent_at > '2024-06-01'
--
-- name: before_date_alone_reversed
-- rest: {"measures": ["referrals.count"], "filters": [{"member": "referrals.sent_at", "operator": "beforeDate", "values": ["2023-06-01T00:00:00.000"]}]}
SELECT MEASURE(count) FROM referrals WHERE '2023-06-01' > sent_at
--
-- name: between_time
-- rest: {"measures": ["users.count"], "dimensions": ["users.plan"], "timeDimensions": [{"dimension": "users.signed_up_at", "dateRange": ["2023-01-01T00:00:00.000", "2023-12-31T00:00:00.000"]}]}
SELECT plan, MEASURE(count) FROM users WHERE signed_up_at BETWEEN '2023-01-01' AND '2023-12-31' GROUP BY 1
--
-- name: date_trunc_year_equals
-- rest: {"measures": ["users.count"], "timeDimensions": [{"dimension": "users.signed_up_at", "dateRange": ["2023-01-01", "2023-12-31"]}]}
SELECT MEASURE(count) FROM users WHERE DATE_TRUNC('year', signed_up_at) = '2023-01-01 00:00:00.0'
--
-- name: time_or
-- rest: {"measures": ["users.count"], "filters": [{"or": [{"member": "users.signed_up_at", "operator": "afterOrOnDate", "values": ["2024-06-01"]}, {"member": "users.signed_up_at", "operator": "beforeDate", "values": ["2023-01-01"]}]}]}
SELECT MEASURE(count) FROM users WHERE signed_up_at >= '2024-06-01' OR signed_up_at < '2023-01-01'
--
-- name: cast_date_literals
-- rest: {"measures": ["referrals.count"], "timeDimensions": [{"dimension": "referrals.sent_at", "granularity": "month", "dateRange": ["2024-01-01", "2024-03-31"]}]}
SELECT DATE_TRUNC('month', sent_at), MEASURE(count) FROM referrals WHERE sent_at >= CAST('2024-01-01' AS DATE) AND sent_at < CAST('2024-04-01' AS DATE) GROUP BY 1 ORDER BY 1
--
-- name: order_by_time_ordered
-- rest: {"measures": ["users.count"], "timeDimensions": [{"dimension": "users.signed_up_at", "granularity": "month"}], "order": [["users.signed_up_at", "asc"]]}
-- ordered: yes
SELECT DATE_TRUNC('month', signed_up_at), COUNT(*) FROM users GROUP BY 1 ORDER BY 1
--
-- name: bad_date
-- error: 22007
SELECT MEASURE(count) FROM users WHERE signed_up_at > 'yesterday-ish'
--
-- name: date_trunc_of_string
-- error: 42883
SELECT DATE_TRUNC('month', plan), MEASURE(count) FROM users GROUP BY 1
