//! The customer tables (METRICS.md, "Customers") on hand-worked cases: the
//! job's output and the oracle of tests/common/customers.rs both against
//! rows worked out by hand in the comments. `mod oracle_checks` runs the
//! oracle alone (it passes without the job's customers); the other tests
//! run `reach run` with `--identities` / `--purchases`.
//!
//! Random inputs, nights, worker counts and processes: tests/customers_nights.rs.

mod common;

use std::path::Path;

use common::customers::*;

fn text(s: &str) -> String {
    s.to_string()
}

/// Hand-worked rows of the three tables, as CSV lines (empty cells empty).
fn hand(customers: &[&str], value_matrix: &[&str], benchmark: &[&str]) -> Tables {
    let rows = |lines: &[&str]| -> Vec<Vec<String>> {
        lines.iter().map(|l| common::csv_fields(l)).collect()
    };
    Tables {
        customers: rows(customers),
        value_matrix: rows(value_matrix),
        benchmark: rows(benchmark),
    }
}

fn assert_tables(got: &Tables, want: &Tables, what: &str) {
    if let Err(e) = compare_tables(got, want) {
        panic!("{what}: {e}");
    }
}

/// Case 1: ann has accounts 1 and 2, friends of each other, who share the
/// friend 3 (bob); 2 also knows 4 (cy). Defaults T 1000, C 101, W 60, K 100.
///
/// Topic x: 1 adopts on day 100, 2 on 105, 3 on 110.
/// k(2,x) = |{1}| = 1 (3 came later); k(3,x) = |{1, 2}| = 2.
/// revenue(2,x) = ann's x purchases on or after day 105 = 5 (the 10 of day
/// 104 is before); revenue(3,x) = bob's x on or after 110 = 2.5 (the 100 of
/// day 109 is before). Handed out: to 1, 5/1 + 2.5/2 = 6.25; to 2, 2.5/2 =
/// 1.25; per topic 7.5 = 5 + 2.5. ann's accounts persuade each other and
/// ann: influenced_revenue(ann) = 6.25 + 1.25 = 7.5.
/// friend_count(ann) = |{2, 3} u {1, 3, 4} \ {1, 2}| = |{3, 4}| = 2;
/// credit(1,x) = 1/1 + 1/2, credit(2,x) = 1/2: influence 2.0; persuaded
/// 2 + 1 = 3; 1 and 2 lead x: topical-influencer. bob: N(3) = {1, 2}: 2.
/// cy: N(4) = {2}: 1.
/// RFM, n = 3 (ranks ceil(3/5), ceil(6/5), ceil(9/5), ceil(12/5) = 1, 2, 2, 3):
/// recency 50, 106, 110: cuts 50, 106, 106, 110: cy 1, ann 2, bob 4;
/// frequency 1, 2, 2: cuts 1, 2, 2, 2: cy 1, ann 2, bob 2;
/// monetary 1, 15, 102.5: cuts 1, 15, 15, 102.5: cy 1, ann 2, bob 4.
/// ann 2/2/2 and bob 4/2/4: Loyal Customers (not Potential Loyalist: f 2);
/// cy 1/1/1: Lost.
fn two_accounts_of_one_customer() -> (Case, Tables, Summary) {
    let case = Case {
        base: vec![
            (Kind::Friendships, text("src,dst\n1,2\n1,3\n2,3\n2,4\n")),
            (
                Kind::Adoptions,
                text("user,topic,day\n1,x,100\n2,x,105\n3,x,110\n"),
            ),
            (
                Kind::Identities,
                text("account,customer\n1,ann\n2,ann\n3,bob\n4,cy\n2,ann\n"),
            ),
            (
                Kind::Purchases,
                text(
                    "ann 1970-04-15 10 x\nann 106 5.00 x\nbob 110 2.5 x\nbob 109 100 x\ncy 50 1\n",
                ),
            ),
        ],
        ..Case::default()
    };
    let tables = hand(
        &[
            "ann,2,2,false,2.0,3,topical-influencer,1970-04-17,2,15,2,2,2,Loyal Customers,7.5,22.5",
            "bob,1,2,false,0.0,0,standard,1970-04-21,2,102.5,4,2,4,Loyal Customers,0.0,102.5",
            "cy,1,1,false,0.0,0,standard,1970-02-20,1,1,1,1,1,Lost,0.0,1.0",
        ],
        &[
            "Loyal Customers,topical-influencer,1,15,7.5",
            "Loyal Customers,standard,1,102.5,0.0",
            "Lost,standard,1,1,0.0",
        ],
        &[
            // 118.5 / 3 = 39.5; 5 purchases / 3; lift of all = 1.
            "all,3,3,118.5,39.5,1.6666666666666667,1.0",
            "social,3,3,118.5,39.5,1.6666666666666667,1.0",
            "not-social,0,0,0,,,",
            // 15 / 39.5 = 30/79; 51.75 / 39.5 = 207/158.
            "tier:topical-influencer,1,1,15,15.0,2.0,0.379746835443038",
            "tier:standard,2,2,103.5,51.75,1.5,1.3101265822784811",
        ],
    );
    let summary = Summary {
        customers: 3,
        accounts_with_customer: 4,
        match_rate: 1.0,
        customers_with_purchases: 3,
        purchases: 5,
        revenue: 118.5,
    };
    (case, tables, summary)
}

/// Case 2: account 10 has no customer; 10 (day 0) and 12 (fay, day 1) both
/// precede their friend 11 (eve, day 3) on y: k(11,y) = 2. revenue(11,y) =
/// eve's y purchases on or after day 3 = 8 (the 3 of day 2 is before), so 4
/// goes to account 10 (no customer: no customer gets it) and 4 to fay.
/// Handed out on y: 8 = revenue(11,y). Credits 1/2 each: 10 and 12 tie and
/// lead y by id; fay is a topical-influencer. dee buys without an account.
/// RFM, n = 3: recency fay 1, dee 2, eve 3: cuts 1, 2, 2, 3: 1, 2, 4;
/// frequency 1, 1, 2: cuts 1, 1, 1, 2: 1, 1, 4; monetary 0.0001, 11, 11:
/// cuts 0.0001, 11, 11, 11: 1, 2, 2 (a tie across the cuts).
/// eve 4/4/2: Potential Loyalist; dee 2/1/2: About To Sleep; fay 1/1/1: Lost.
fn a_persuader_without_a_customer() -> (Case, Tables, Summary) {
    let case = Case {
        base: vec![
            (Kind::Friendships, text("10 11\n11 12\n")),
            (Kind::Adoptions, text("10 y 0\n12 y 1\n11 y 3\n")),
            (Kind::Identities, text("11 eve\n12 fay\n")),
            (
                Kind::Purchases,
                text("eve 3 8 y\neve 2 3 y\nfay 1 0.0001 z\ndee 2 11\n"),
            ),
        ],
        ..Case::default()
    };
    let tables = hand(
        &[
            "dee,0,0,false,0.0,0,standard,1970-01-03,1,11,2,1,2,About To Sleep,0.0,11.0",
            "eve,1,2,false,0.0,0,standard,1970-01-04,2,11,4,4,2,Potential Loyalist,0.0,11.0",
            "fay,1,1,false,0.5,1,topical-influencer,1970-01-02,1,0.0001,1,1,1,Lost,4.0,4.0001",
        ],
        &[
            "Potential Loyalist,standard,1,11,0.0",
            "About To Sleep,standard,1,11,0.0",
            "Lost,topical-influencer,1,0.0001,4.0",
        ],
        &[
            // all: 22.0001 / 3; social (eve, fay): 11.0001 / 2 = 5.50005, lift
            // 16.50015 / 22.0001; not-social (dee): 11, lift 33 / 22.0001.
            "all,3,3,22.0001,7.333366666666667,1.3333333333333333,1.0",
            "social,2,2,11.0001,5.50005,1.5,0.7500034090754133",
            "not-social,1,1,11,11.0,1.0,1.4999931818491734",
            "tier:topical-influencer,1,1,0.0001,0.0001,1.0,1.3636301653174303e-05",
            "tier:standard,1,1,11,11.0,2.0,1.4999931818491734",
        ],
    );
    let summary = Summary {
        customers: 3,
        accounts_with_customer: 2,
        match_rate: 2.0 / 3.0,
        customers_with_purchases: 3,
        purchases: 4,
        revenue: 22.0001,
    };
    (case, tables, summary)
}

/// Case 3, two nights: refunds matched by amount as a number, refunds that
/// match nothing, and accounts remapped. 20 (gus, day 10) persuades 21 (day
/// 12) on z: k(21,z) = 1, so gus gets all of revenue(21,z), whoever 21's
/// customer is.
///
/// Base: 21 is hal's, who bought z twice for 12.5 on day 12 (written 12.50
/// and 12.5) and 7 without topic on day 20; 22 is ivy's (1 on day 5).
/// gus: IR 25; friend_count |{21, 22}| = 2. hal 3 purchases, 32;
/// ivy 1, 1. RFM n = 2 (ranks 1, 1, 2, 2): hal 3/3/3 Potential Loyalist,
/// ivy 1/1/1 Lost.
///
/// Night 1: `- hal 12 12.5 z` refunds one (12.50 = 12.5); `- hal 13 ...`
/// (other day) and `- hal 20 7 z` (the purchase has no topic) are no-ops.
/// 22 moves from ivy to gus; `+ 21 hal` again is a no-op. gus: accounts
/// 20, 22, friend_count |{21, 22} u {20} \ {20, 22}| = 1; IR 12.5. hal: 19.5
/// in 2 purchases; ivy: no account now, still a customer by her purchase.
///
/// Night 2: the second 12.5 refunded (written 12.5000); refunding it again
/// is a no-op; ivy buys z for 2 on day 30; 21 moves from hal to ivy.
/// revenue(21,z) is now ivy's z on or after day 12 = 2: gus IR 2. hal has
/// no account and 7 on day 20; ivy 3 in 2 purchases, last day 30.
/// RFM n = 2: recency 20, 30: hal 1, ivy 3; frequency 1, 2: hal 1, ivy 3;
/// monetary 3, 7: ivy 1, hal 3. hal 1/1/3: Lost; ivy 3/3/1: About To Sleep.
fn refunds_and_remapped_accounts() -> (Case, Vec<Tables>, Summary) {
    let night = |purchases: &str, identities: &str| {
        vec![
            (text("purchases.txt"), text(purchases)),
            (text("identities.txt"), text(identities)),
        ]
    };
    let case = Case {
        base: vec![
            (Kind::Friendships, text("20,21\n20,22\n")),
            (Kind::Adoptions, text("20,z,10\n21,z,12\n")),
            (Kind::Identities, text("20,gus\n21,hal\n22,ivy\n")),
            (
                Kind::Purchases,
                text("hal 12 12.50 z\nhal 12 12.5 z\nhal 20 7\nivy 5 1\n"),
            ),
        ],
        nights: vec![
            (
                text("2026-01-01"),
                night(
                    "- hal 12 12.5 z\n- hal 13 12.5 z\n- hal 20 7 z\n",
                    "- 22 ivy\n+ 22 gus\n+ 21 hal\n",
                ),
            ),
            (
                text("2026-01-02"),
                night(
                    "- hal 12 12.5000 z\n- hal 12 12.5 z\n+ ivy 30 2 z\n",
                    "- 21 hal\n+ 21 ivy\n",
                ),
            ),
        ],
        ..Case::default()
    };
    let base = hand(
        &[
            "gus,1,2,false,1.0,1,topical-influencer,,0,0,,,,No purchases,25.0,25.0",
            "hal,1,1,false,0.0,0,standard,1970-01-21,3,32,3,3,3,Potential Loyalist,0.0,32.0",
            "ivy,1,1,false,0.0,0,standard,1970-01-06,1,1,1,1,1,Lost,0.0,1.0",
        ],
        &[],
        &[],
    );
    let first = hand(
        &[
            "gus,2,1,false,1.0,1,topical-influencer,,0,0,,,,No purchases,12.5,12.5",
            "hal,1,1,false,0.0,0,standard,1970-01-21,2,19.5,3,3,3,Potential Loyalist,0.0,19.5",
            "ivy,0,0,false,0.0,0,standard,1970-01-06,1,1,1,1,1,Lost,0.0,1.0",
        ],
        &[],
        &[],
    );
    let last = hand(
        &[
            "gus,2,1,false,1.0,1,topical-influencer,,0,0,,,,No purchases,2.0,2.0",
            "hal,0,0,false,0.0,0,standard,1970-01-21,1,7,1,1,3,Lost,0.0,7.0",
            "ivy,1,1,false,0.0,0,standard,1970-01-31,2,3,3,3,1,About To Sleep,0.0,3.0",
        ],
        &[
            "About To Sleep,standard,1,3,0.0",
            "Lost,standard,1,7,0.0",
            "No purchases,topical-influencer,1,0,2.0",
        ],
        &[
            // 10 / 3; social (gus, ivy) 3 / 2 = 1.5, lift 0.45; hal 7, lift 2.1.
            "all,3,2,10,3.3333333333333335,1.0,1.0",
            "social,2,1,3,1.5,1.0,0.45",
            "not-social,1,1,7,7.0,1.0,2.1",
            "tier:topical-influencer,1,0,0,0.0,0.0,0.0",
            "tier:standard,1,1,3,3.0,2.0,0.9",
        ],
    );
    let summary = Summary {
        customers: 3,
        accounts_with_customer: 3,
        match_rate: 1.0,
        customers_with_purchases: 2,
        purchases: 3,
        revenue: 10.0,
    };
    (case, vec![base, first, last], summary)
}

/// Only the `customers` table of `tables` (hand rows given for it alone).
fn customers_only(tables: &Tables) -> Tables {
    Tables {
        customers: tables.customers.clone(),
        ..Tables::default()
    }
}

/// Runs a case without nights and checks the output against the hand rows and the oracle.
fn check_batch(case: &Case, want: &Tables, summary: &Summary, dir: &Path) {
    let out = dir.join("out");
    reach_run(&case.write(dir), &out, 2);
    let expected = expected(&case.states()[0], &case.params);
    assert_customers_match(&out, &expected);
    assert_tables(&read_customer_tables(&out), want, "hand-worked rows");
    compare_summary(&out, summary).unwrap();
}

#[test]
fn a_customer_with_two_accounts_that_are_friends() {
    let (case, want, summary) = two_accounts_of_one_customer();
    check_batch(&case, &want, &summary, tempfile::tempdir().unwrap().path());
}

#[test]
fn a_persuader_without_a_customer_and_a_customer_without_an_account() {
    let (case, want, summary) = a_persuader_without_a_customer();
    check_batch(&case, &want, &summary, tempfile::tempdir().unwrap().path());
}

#[test]
fn refunds_and_a_remapped_account_across_nights() {
    let (case, want, summary) = refunds_and_remapped_accounts();
    let dir = tempfile::tempdir().unwrap();
    let (base_out, out) = (dir.path().join("base-out"), dir.path().join("out"));
    reach_run(&case.base_only(&dir.path().join("b")), &base_out, 2);
    reach_run(&case.write(&dir.path().join("n")), &out, 2);
    let states = case.states();
    let final_tables = read_customer_tables(&out);
    assert_tables(&final_tables, &want[2], "after night 2");
    assert_customers_match(&out, &expected(&states[2], &case.params));
    compare_summary(&out, &summary).unwrap();
    // The base output, then each night's feed, give the hand rows of each night.
    let mut tables = read_customer_tables(&base_out);
    for (k, night) in case.night_names().iter().enumerate() {
        assert_tables(&customers_only(&tables), &customers_only(&want[k]), night);
        apply_feed(&mut tables, &out, night);
    }
    assert_eq!(tables, final_tables, "feeds compose to the final tables");
}

/// The oracle alone, against the same hand-worked rows (no job involved).
mod oracle_checks {
    use super::*;

    fn oracle_tables(inputs: &Inputs, params: &Params) -> (Tables, Expected) {
        let expected = expected(inputs, params);
        (expected_tables(&expected), expected)
    }

    #[test]
    fn two_accounts_of_one_customer_by_hand() {
        let (case, want, summary) = two_accounts_of_one_customer();
        let (got, expected) = oracle_tables(&case.states()[0], &case.params);
        assert_tables(&got, &want, "oracle");
        assert_eq!(expected.summary, summary);
        // 7.5 handed out on x (units of 1/10_000).
        assert_eq!(expected.handed_out["x"], Frac::new(75_000, 1));
    }

    #[test]
    fn a_persuader_without_a_customer_by_hand() {
        let (case, want, summary) = a_persuader_without_a_customer();
        let (got, expected) = oracle_tables(&case.states()[0], &case.params);
        assert_tables(&got, &want, "oracle");
        assert_eq!(expected.summary, summary);
        // All 8 of revenue(11,y) is handed out; half of it to account 10.
        assert_eq!(expected.handed_out["y"], Frac::new(80_000, 1));
    }

    #[test]
    fn refunds_and_remapped_accounts_by_hand() {
        let (case, want, summary) = refunds_and_remapped_accounts();
        let states = case.states();
        for (k, want) in want.iter().enumerate() {
            let (got, _) = oracle_tables(&states[k], &case.params);
            let got = if k < 2 { customers_only(&got) } else { got };
            assert_tables(&got, want, &format!("oracle after {k} nights"));
        }
        assert_eq!(expected(&states[2], &case.params).summary, summary);
        // No-ops counted night by night: 2 purchases and 1 identity, then 1 purchase.
        let mut state = states[0].clone();
        let dir = tempfile::tempdir().unwrap();
        case.write(dir.path());
        let nights = dir.path().join("nights");
        let first = state.apply_night(&nights.join("2026-01-01"));
        assert_eq!(first["purchases"], 2);
        assert_eq!(first["identities"], 1);
        let second = state.apply_night(&nights.join("2026-01-02"));
        assert_eq!((second["purchases"], second["identities"]), (1, 0));
        assert_eq!(state.purchases, states[2].purchases);
    }
}

/// The harness itself (reading, ordering, comparing, replaying feeds) on an
/// output written here from the oracle, as the job should write it: it
/// passes, and a changed cell, a row out of order or a feed that adds a
/// present row are caught.
mod harness_checks {
    use super::*;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    fn csv_line(row: &[String]) -> String {
        let quoted: Vec<String> = row
            .iter()
            .map(|f| {
                if f.contains(',') {
                    format!("\"{f}\"")
                } else {
                    f.clone()
                }
            })
            .collect();
        quoted.join(",")
    }

    fn write_part(dir: &Path, part: usize, header: &str, rows: &[&Vec<String>]) {
        std::fs::create_dir_all(dir).unwrap();
        let mut text = format!("{header}\n");
        for row in rows {
            text += &csv_line(row);
            text += "\n";
        }
        std::fs::write(dir.join(format!("part-{part:05}.csv")), text).unwrap();
    }

    /// The final tables (customers over two parts), the summary, and each
    /// night's feed as the difference of the oracle's tables.
    fn write_fake_run(out: &Path, case: &Case, expected: &[Expected]) {
        let last = expected_tables(expected.last().unwrap());
        let (even, odd): (Vec<_>, Vec<_>) = last
            .customers
            .iter()
            .enumerate()
            .partition(|(i, _)| i % 2 == 0);
        for (part, rows) in [even, odd].into_iter().enumerate() {
            let rows: Vec<&Vec<String>> = rows.into_iter().map(|(_, r)| r).collect();
            write_part(&out.join("customers"), part, CUSTOMERS_HEADER, &rows);
        }
        write_part(
            &out.join("value_matrix"),
            0,
            VALUE_MATRIX_HEADER,
            &last.value_matrix.iter().collect::<Vec<_>>(),
        );
        write_part(
            &out.join("benchmark"),
            0,
            BENCHMARK_HEADER,
            &last.benchmark.iter().collect::<Vec<_>>(),
        );
        let s = &expected.last().unwrap().summary;
        let summary = serde_json::json!({"customers": {
            "customers": s.customers, "accounts_with_customer": s.accounts_with_customer,
            "match_rate": s.match_rate, "customers_with_purchases": s.customers_with_purchases,
            "purchases": s.purchases, "revenue": s.revenue}});
        std::fs::write(out.join("summary.json"), summary.to_string()).unwrap();
        for (k, night) in case.night_names().iter().enumerate() {
            let (before, after) = (
                expected_tables(&expected[k]),
                expected_tables(&expected[k + 1]),
            );
            for (table, header) in CUSTOMER_TABLES {
                let (mut b, mut a) = (before.clone(), after.clone());
                let (b, a) = (b.get_mut(table), a.get_mut(table));
                let mut feed: Vec<Vec<String>> = Vec::new();
                for row in b.iter().filter(|r| !a.contains(r)) {
                    feed.push([vec!["-".to_string()], row.clone()].concat());
                }
                for row in a.iter().filter(|r| !b.contains(r)) {
                    feed.push([vec!["+".to_string()], row.clone()].concat());
                }
                let dir = out.join("changes").join(night).join(table);
                write_part(
                    &dir,
                    0,
                    &format!("op,{header}"),
                    &feed.iter().collect::<Vec<_>>(),
                );
            }
        }
    }

    fn fails(f: impl FnOnce()) -> bool {
        catch_unwind(AssertUnwindSafe(f)).is_err()
    }

    #[test]
    fn an_output_written_from_the_oracle_passes_and_changes_are_caught() {
        for seed in [1u64, 3] {
            let case = random_case(seed, seed == 1);
            let expected: Vec<Expected> = case
                .states()
                .iter()
                .map(|s| expected(s, &case.params))
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out");
            write_fake_run(&out, &case, &expected);
            let base = if seed == 1 {
                expected_tables(&expected[0])
            } else {
                Tables::default()
            };
            assert_nights_match(&out, &base, &case, &expected);

            // A decimal off by 1e-6 relative, a monetary off by one unit.
            let mut got = read_customer_tables(&out);
            let row = got.customers.iter_mut().find(|r| r[15] != "0.0").unwrap();
            row[15] = format!("{:?}", row[15].parse::<f64>().unwrap() * (1.0 + 1e-6));
            assert!(compare_tables(&got, &expected_tables(expected.last().unwrap())).is_err());
            let mut got = read_customer_tables(&out);
            let row = got
                .customers
                .iter_mut()
                .find(|r| !r[10].is_empty())
                .unwrap();
            row[9] = units_text(i128::from(parse_units(&row[9])) + 1);
            assert!(compare_tables(&got, &expected_tables(expected.last().unwrap())).is_err());
            // 1e-12 relative is within the tolerance; a missing row is not.
            let mut got = read_customer_tables(&out);
            let row = got.customers.iter_mut().find(|r| r[15] != "0.0").unwrap();
            row[15] = format!("{:?}", row[15].parse::<f64>().unwrap() * (1.0 + 1e-12));
            compare_tables(&got, &expected_tables(expected.last().unwrap())).unwrap();
            got.customers.pop();
            assert!(compare_tables(&got, &expected_tables(expected.last().unwrap())).is_err());

            // Benchmark rows out of order are refused when read.
            let bench = out.join("benchmark/part-00000.csv");
            let text = std::fs::read_to_string(&bench).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            lines.swap(1, 2);
            std::fs::write(&bench, lines.join("\n") + "\n").unwrap();
            assert!(fails(|| {
                read_customer_tables(&out);
            }));
            std::fs::write(&bench, text).unwrap();

            // A feed that adds a row already there, removes an absent one,
            // or lists an unchanged row as leaving and arriving, is refused.
            let tables = read_customer_tables(&out);
            let line = |op: &str, row: &Vec<String>| [vec![op.to_string()], row.clone()].concat();
            let row = tables.customers[0].clone();
            let mut absent = row.clone();
            absent[0] += "-absent";
            let feeds = [
                ("add", vec![line("+", &row)]),
                ("remove", vec![line("-", &absent)]),
                ("both", vec![line("+", &row), line("-", &row)]),
            ];
            for (night, feed) in feeds {
                for (table, header) in CUSTOMER_TABLES {
                    let rows: Vec<&Vec<String>> = match table {
                        "customers" => feed.iter().collect(),
                        _ => Vec::new(),
                    };
                    let dir = out.join("changes").join(night).join(table);
                    write_part(&dir, 0, &format!("op,{header}"), &rows);
                }
                let mut copy = tables.clone();
                assert!(fails(|| apply_feed(&mut copy, &out, night)), "{night}");
            }

            // The summary's counts are compared.
            let mut summary = expected.last().unwrap().summary.clone();
            summary.purchases += 1;
            assert!(compare_summary(&out, &summary).is_err());
        }
    }
}
