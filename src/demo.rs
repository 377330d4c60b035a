//! `cubec demo-data`: a deterministic demo dataset for the KPI library in `metrics/`: the tables
//! a product with a referral program would have, with rates chosen to land inside the
//! benchmark ranges the model's `meta` quotes. The same seed and scale give the same bytes.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use std::fmt::Write as _;
use std::path::Path;

/// SplitMix64: small, fast and stable across versions (a dataset must not change when a crate
/// updates its generator).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform in [lo, hi].
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
}

const DAYS: i64 = 182; // 2024-01-01 .. 2024-06-30

fn start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default()
}

fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn opt_ts(t: Option<NaiveDateTime>) -> String {
    t.map(ts).unwrap_or_default()
}

struct Table {
    name: &'static str,
    text: String,
}

impl Table {
    fn new(name: &'static str, header: &str) -> Table {
        Table { name, text: format!("{header}\n") }
    }
    fn row(&mut self, cells: &[String]) {
        let _ = writeln!(self.text, "{}", cells.join(","));
    }
}

macro_rules! row {
    ($t:expr, $($v:expr),+ $(,)?) => { $t.row(&[$($v.to_string()),+]) };
}

/// Writes the dataset's CSV files into `out` (created if missing). Returns (file, rows) pairs.
pub fn generate(out: &Path, scale: u32, seed: u64) -> std::io::Result<Vec<(String, usize)>> {
    let scale = scale.max(1) as i64;
    let mut rng = Rng(seed);
    let t0 = start();
    let at = |rng: &mut Rng, from_day: i64| t0 + Duration::minutes(rng.range(from_day * 1440, DAYS * 1440 - 1));

    // Accounts and existing users.
    let n_accounts = 500 * scale;
    let mut accounts = Table::new(
        "accounts",
        "id,name,source,segment,created_at,is_referral_ready,readiness_score,relationship_depth",
    );
    let mut account_source = Vec::new();
    for id in 1..=n_accounts {
        let source = if rng.chance(0.14) { "referral" } else { rng.pick(&["paid", "organic", "partner"]) };
        account_source.push(source);
        let ready = rng.chance(0.3);
        let score = if ready { rng.range(60, 100) } else { rng.range(5, 70) };
        row!(
            accounts,
            id,
            format!("Account {id}"),
            source,
            rng.pick(&["smb", "mid_market", "enterprise"]),
            ts(t0 - Duration::days(rng.range(30, 700))),
            ready,
            score,
            rng.range(1, 10)
        );
    }
    let n_users = 2000 * scale;
    let mut users: Vec<(i64, NaiveDateTime, bool)> = Vec::new(); // id, signed up, active
    let mut user_rows = Vec::new();
    for id in 1..=n_users {
        let signed = t0 - Duration::days(rng.range(1, 400)) + Duration::minutes(rng.range(0, 1439));
        let active = rng.chance(0.72);
        users.push((id, signed, active));
        user_rows.push((id, signed, active, "existing"));
    }

    // Referrals from active users; converted ones become new users.
    let mut referrals = Table::new(
        "referrals",
        "id,referrer_user_id,referred_user_id,channel,incentive,sent_at,clicked_at,signed_up_at,converted_at",
    );
    let mut messages = Table::new("referral_messages", "referral_message_id,user_id,message_customized,created_at");
    let mut rewards = Table::new("rewards", "id,referral_id,recipient,amount,issued_at,redeemed_at");
    let mut next_user = n_users + 1;
    let (mut referral_id, mut reward_id) = (0, 0);
    let mut new_users: Vec<(i64, NaiveDateTime)> = Vec::new();
    for &(uid, _, active) in &users {
        if !active || !rng.chance(0.16) {
            continue;
        }
        for _ in 0..rng.range(1, 6) {
            referral_id += 1;
            let sent = at(&mut rng, 0);
            let clicked = rng.chance(0.62).then(|| sent + Duration::hours(rng.range(1, 72)));
            let converted = clicked.filter(|_| rng.chance(0.36)).map(|c| c + Duration::days(rng.range(1, 30)));
            let converted = converted.filter(|c| *c < t0 + Duration::days(DAYS));
            let incentive = rng.pick(&["double_sided", "double_sided", "single_sided", "none"]);
            // A converted referral brings a new user, who signed up shortly before converting.
            let (referred, signed) = match converted {
                Some(c) => {
                    let (id, signed) = (next_user, c - Duration::hours(rng.range(1, 48)));
                    next_user += 1;
                    new_users.push((id, signed));
                    (Some(id), Some(signed))
                }
                None => (None, None),
            };
            row!(
                referrals,
                referral_id,
                uid,
                referred.map(|r| r.to_string()).unwrap_or_default(),
                rng.pick(&["email", "link", "in_app", "social"]),
                incentive,
                ts(sent),
                opt_ts(clicked),
                opt_ts(signed),
                opt_ts(converted)
            );
            row!(messages, format!("m{referral_id}"), format!("u{uid}"), rng.chance(0.35), ts(sent));
            if let Some(c) = converted {
                for (recipient, amount) in [("referrer", 30), ("referred", 20)] {
                    reward_id += 1;
                    let redeemed = rng.chance(0.76).then(|| c + Duration::days(rng.range(0, 20)));
                    row!(rewards, reward_id, referral_id, recipient, amount, ts(c), opt_ts(redeemed));
                }
            }
        }
    }
    // Other new customers in the period, so referrals are a believable share of them.
    for _ in 0..(new_users.len() as i64 * 9) {
        let id = next_user;
        next_user += 1;
        user_rows.push((id, at(&mut rng, 0), rng.chance(0.8), "new"));
    }
    for (id, signed) in &new_users {
        user_rows.push((*id, *signed, true, "referral"));
    }

    let mut users_csv = Table::new("users", "id,account_id,signed_up_at,acquisition_channel,is_active,aware_of_program,is_icp,plan,churned_at,is_eligible,joined_program_at");
    for (id, signed, active, kind) in &user_rows {
        let channel = match *kind {
            "referral" => "referral",
            _ => rng.pick(&["paid", "paid", "organic", "organic", "partner"]),
        };
        let churned = rng.chance(if channel == "referral" { 0.08 } else { 0.14 }).then(|| at(&mut rng, 30));
        let eligible = rng.chance(0.85);
        let joined = (eligible && rng.chance(0.3)).then(|| *signed + Duration::days(rng.range(1, 60)));
        row!(
            users_csv,
            id,
            rng.range(1, n_accounts),
            ts(*signed),
            channel,
            active,
            rng.chance(0.46),
            rng.chance(0.3),
            rng.pick(&["free", "pro", "team"]),
            opt_ts(churned),
            eligible,
            opt_ts(joined)
        );
    }

    let all_users = next_user - 1;
    let mut intro = Table::new("intro_requests", "id,user_id,asked_at");
    let mut shares = Table::new("link_shares", "id,user_id,channel,shared_at");
    let mut prompts = Table::new(
        "referral_prompts",
        "id,user_id,placement,shown_at,interacted,accepted,flow_started,link_copied,invite_sent",
    );
    let (mut intro_id, mut share_id, mut prompt_id) = (0, 0, 0);
    for uid in 1..=all_users {
        if rng.chance(0.08) {
            intro_id += 1;
            row!(intro, intro_id, uid, ts(at(&mut rng, 0)));
        }
        if rng.chance(0.18) {
            for _ in 0..rng.range(1, 3) {
                share_id += 1;
                row!(shares, share_id, uid, rng.pick(&["copy", "email", "slack", "social"]), ts(at(&mut rng, 0)));
            }
        }
        if rng.chance(0.6) {
            for _ in 0..rng.range(1, 3) {
                prompt_id += 1;
                let interacted = rng.chance(0.35);
                let accepted = interacted && rng.chance(0.4);
                let started = accepted || (interacted && rng.chance(0.1));
                row!(
                    prompts,
                    prompt_id,
                    uid,
                    rng.pick(&["dashboard", "post_activation", "email", "nps"]),
                    ts(at(&mut rng, 0)),
                    interacted,
                    accepted,
                    started,
                    interacted && rng.chance(0.1),
                    started && rng.chance(0.7)
                );
            }
        }
    }

    let mut advocates = Table::new("advocate_activities", "id,user_id,activity_type,activity_at,is_return");
    for id in 1..=(400 * scale) {
        row!(
            advocates,
            id,
            rng.range(1, all_users),
            rng.pick(&["referral", "review", "case_study", "campaign"]),
            ts(at(&mut rng, 0)),
            rng.chance(0.38)
        );
    }
    let mut costs = Table::new("program_costs", "id,category,amount,spent_at");
    let mut cost_id = 0;
    for month in 1..=6 {
        for (category, amount) in [("platform", 100 * scale), ("engineering", 500 * scale)] {
            cost_id += 1;
            let day = NaiveDate::from_ymd_opt(2024, month, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or(t0);
            row!(costs, cost_id, category, amount, ts(day));
        }
    }
    let mut revenue =
        Table::new("revenue", "id,account_id,month,starting_mrr,mrr,expansion_mrr,contraction_mrr,churned_mrr");
    let mut rev_id = 0;
    for (i, _) in account_source.iter().enumerate() {
        let mut mrr = rng.range(100, 2000);
        for month in 1..=6 {
            rev_id += 1;
            let start_mrr = mrr;
            let expansion = if rng.chance(0.08) { rng.range(50, 400) } else { 0 };
            let contraction = if rng.chance(0.03) { rng.range(20, 100).min(mrr / 2) } else { 0 };
            let churned = if rng.chance(0.01) { mrr - contraction } else { 0 };
            mrr = start_mrr + expansion - contraction - churned;
            let day = NaiveDate::from_ymd_opt(2024, month, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or(t0);
            row!(revenue, rev_id, i + 1, ts(day), start_mrr, mrr, expansion, contraction, churned);
        }
    }
    let mut leads = Table::new("leads", "id,source,is_mql,created_at");
    for id in 1..=(3000 * scale) {
        let referral = rng.chance(0.15);
        row!(
            leads,
            id,
            if referral { "referral" } else { rng.pick(&["paid", "organic", "event"]) },
            rng.chance(if referral { 0.42 } else { 0.24 }),
            ts(at(&mut rng, 0))
        );
    }
    let mut opps =
        Table::new("opportunities", "id,account_id,source,is_strategic_source,amount,won,created_at,closed_at");
    for id in 1..=(400 * scale) {
        let referral = rng.chance(0.16);
        let created = at(&mut rng, 0);
        let closed = rng.chance(0.8).then(|| created + Duration::days(rng.range(5, 60)));
        let won = closed.is_some() && rng.chance(if referral { 0.45 } else { 0.28 });
        row!(
            opps,
            id,
            rng.range(1, n_accounts),
            if referral { "referral" } else { rng.pick(&["outbound", "inbound", "paid"]) },
            referral && rng.chance(0.5),
            rng.range(5, 50) * 1000,
            won,
            ts(created),
            opt_ts(closed)
        );
    }
    let mut qbrs = Table::new("qbrs", "id,account_id,held_at,referral_intent");
    let mut qbr_id = 0;
    for account in 1..=n_accounts {
        for quarter_start in [0, 91] {
            if rng.chance(0.5) {
                qbr_id += 1;
                row!(
                    qbrs,
                    qbr_id,
                    account,
                    ts(t0 + Duration::days(quarter_start + rng.range(10, 80))),
                    rng.chance(0.27)
                );
            }
        }
    }
    let mut nps = Table::new("nps_responses", "id,user_id,score,responded_at");
    for id in 1..=(1000 * scale) {
        let r = rng.unit();
        let score = if r < 0.48 {
            rng.range(9, 10)
        } else if r < 0.82 {
            rng.range(7, 8)
        } else {
            rng.range(0, 6)
        };
        row!(nps, id, rng.range(1, all_users), score, ts(at(&mut rng, 0)));
    }
    let mut mentions = Table::new("brand_mentions", "id,channel,sentiment,is_influencer_or_advocate,mentioned_at");
    for id in 1..=(800 * scale) {
        let r = rng.unit();
        let sentiment = if r < 0.55 {
            "positive"
        } else if r < 0.85 {
            "neutral"
        } else {
            "negative"
        };
        row!(
            mentions,
            id,
            rng.pick(&["social", "social", "forum", "press", "sales_call"]),
            sentiment,
            rng.chance(0.1),
            ts(at(&mut rng, 0))
        );
    }
    let mut social = Table::new("social_shares", "id,user_id,platform,is_paid,shared_at");
    for id in 1..=(1200 * scale) {
        row!(
            social,
            id,
            rng.range(1, all_users),
            rng.pick(&["linkedin", "x", "facebook", "email"]),
            rng.chance(0.2),
            ts(at(&mut rng, 0))
        );
    }
    let mut community = Table::new("community_members", "id,user_id,joined_at");
    for id in 1..=(1500 * scale) {
        // A third joined before the period, the rest during it.
        let joined = if rng.chance(0.33) { t0 - Duration::days(rng.range(1, 300)) } else { at(&mut rng, 0) };
        row!(community, id, rng.range(1, all_users), ts(joined));
    }
    let mut affiliates =
        Table::new("affiliates", "id,enrolled_at,is_active,revenue,commission,new_customers,days_click_to_payment");
    for id in 1..=(150 * scale) {
        let active = rng.chance(0.3);
        // A few partners earn most of the revenue.
        let revenue = if active { (rng.unit().powi(4) * 40000.0) as i64 + 200 } else { 0 };
        row!(
            affiliates,
            id,
            ts(t0 - Duration::days(rng.range(1, 500))),
            active,
            revenue,
            revenue / 5,
            revenue / 800,
            if active { rng.range(5, 40).to_string() } else { String::new() }
        );
    }

    std::fs::create_dir_all(out)?;
    let tables = [
        accounts, users_csv, referrals, messages, rewards, intro, shares, prompts, advocates, costs, revenue, leads,
        opps, qbrs, nps, mentions, social, community, affiliates,
    ];
    let mut written = Vec::new();
    for t in tables {
        let path = out.join(format!("{}.csv", t.name));
        // Write to a temporary name and rename, so an interrupted run leaves no half-written file.
        let tmp = out.join(format!(".{}.csv.tmp", t.name));
        std::fs::write(&tmp, &t.text)?;
        std::fs::rename(&tmp, &path)?;
        written.push((path.display().to_string(), t.text.lines().count().saturating_sub(1)));
    }
    Ok(written)
}
