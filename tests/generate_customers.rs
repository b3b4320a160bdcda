//! The generator's customers (`reach generate --customers`): the files
//! hold exactly what `Model::identities` and `Model::purchase_chunk` give,
//! at any thread count; the shares the docs promise; the planted influence
//! signal; nights that are valid against the base; every line in the
//! METRICS.md format, checked by a literal parser written here.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use reach::generate::{
    write_dataset_threads, write_nights, Model, Params, NO_ACCOUNT_CUSTOMERS_PER_100_USERS,
    SPAN_DAYS, START_DAY,
};

/// A purchase as METRICS.md defines it: customer, day (days since
/// 1970-01-01), amount in units of 1/10_000, topic.
type Purchase = (String, i32, i64, Option<String>);

/// Days since 1970-01-01 of `YYYY-MM-DD` (proleptic Gregorian), or None.
fn iso_days(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = &s[r];
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let lengths = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > lengths[(m - 1) as usize] {
        return None;
    }
    // Whole years from 1970, then months, then days.
    let mut days: i64 = (1970..y)
        .map(|yy| {
            if (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0 {
                366
            } else {
                365
            }
        })
        .sum();
    days += lengths[..(m - 1) as usize].iter().sum::<i64>() + d - 1;
    Some(days as i32)
}

/// METRICS.md's amount: a non-negative decimal with at most 4 digits after
/// the point, in units of 1/10_000.
fn amount_units(s: &str) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 4 {
        return None;
    }
    if s.contains('.') && frac.is_empty() {
        return None;
    }
    let scaled = format!("{frac:0<4}");
    Some(whole.parse::<i64>().ok()? * 10_000 + scaled.parse::<i64>().ok()?)
}

/// A field that is a valid customer id or topic: non-empty, no separator.
fn plain(field: &str) -> bool {
    !field.is_empty() && !field.contains([',', '\t', ' ', '"'])
}

/// `customer,day,amount[,topic]` (3 or 4 fields).
fn parse_purchase(fields: &[&str]) -> Result<Purchase, String> {
    if !(3..=4).contains(&fields.len()) || !fields.iter().all(|f| plain(f)) {
        return Err(format!("bad fields {fields:?}"));
    }
    let day = iso_days(fields[1]).ok_or(format!("bad day {:?}", fields[1]))?;
    let amount = amount_units(fields[2]).ok_or(format!("bad amount {:?}", fields[2]))?;
    Ok((
        fields[0].to_string(),
        day,
        amount,
        fields.get(3).map(|t| t.to_string()),
    ))
}

/// The data lines of a comma file after its expected header.
fn lines<'a>(text: &'a str, header: &str) -> impl Iterator<Item = Vec<&'a str>> {
    let mut it = text.lines();
    assert_eq!(it.next(), Some(header));
    it.map(|l| l.split(',').collect())
}

fn read_identities(path: &Path) -> Vec<(u64, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    lines(&text, "account,customer")
        .map(|f| {
            assert_eq!(f.len(), 2, "{f:?}");
            assert!(plain(f[1]), "{f:?}");
            (f[0].parse().unwrap(), f[1].to_string())
        })
        .collect()
}

fn read_purchases(path: &Path) -> Vec<Purchase> {
    let text = std::fs::read_to_string(path).unwrap();
    lines(&text, "customer,day,amount,topic")
        .map(|f| parse_purchase(&f).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn identities(model: &Model) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    model.identities(|a, c| out.push((a, c.to_string())));
    out
}

/// Every purchase chunk, each drawn on its own thread, last chunk first.
fn purchases(model: &Model) -> Vec<Purchase> {
    let chunks: Vec<Vec<Purchase>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..model.purchase_chunks())
            .rev()
            .map(|c| {
                s.spawn(move || {
                    let mut out = Vec::new();
                    model.purchase_chunk(c, |customer, day, amount, topic| {
                        out.push((
                            customer.to_string(),
                            day,
                            amount,
                            topic.map(|t| model.topic_name(t)),
                        ))
                    });
                    out
                })
            })
            .collect();
        let mut chunks: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        chunks.reverse();
        chunks
    });
    chunks.concat()
}

fn customers(users: u64, mean_degree: f64) -> Params {
    Params {
        users,
        mean_degree,
        customers: true,
        ..Params::default()
    }
}

#[test]
fn files_hold_what_the_functions_give_at_any_thread_count() {
    // 3 chunks of accounts and one of customers without account.
    let params = customers(140_000, 6.0);
    let writer = Model::new(&params).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    let written = write_dataset_threads(&writer, &one, 1, &mut |_, _| {}).unwrap();
    write_dataset_threads(&Model::new(&params).unwrap(), &two, 2, &mut |_, _| {}).unwrap();
    for name in [
        "friendships.csv",
        "adoptions.csv",
        "identities.csv",
        "purchases.csv",
    ] {
        assert!(
            std::fs::read(one.join(name)).unwrap() == std::fs::read(two.join(name)).unwrap(),
            "{name} differs between 1 and 2 threads"
        );
    }
    // A fresh model finds the followers by its own pass over the edges;
    // the writer was handed them: both give the files' purchases.
    let fresh = Model::new(&params).unwrap();
    assert_eq!(fresh.purchase_chunks(), 4);
    let from_files = (
        read_identities(&one.join("identities.csv")),
        read_purchases(&one.join("purchases.csv")),
    );
    assert_eq!(from_files.0.len() as u64, written.identities);
    assert_eq!(from_files.1.len() as u64, written.purchases);
    assert!(from_files.0 == identities(&fresh), "identities.csv");
    assert!(
        from_files.1 == purchases(&fresh),
        "purchases.csv (fresh model)"
    );
    assert!(from_files.1 == purchases(&writer), "purchases.csv (writer)");

    // Without customers: no customer files, nothing from the functions.
    let plain = Model::new(&Params {
        customers: false,
        ..params
    })
    .unwrap();
    assert_eq!(plain.purchase_chunks(), 0);
    assert!(identities(&plain).is_empty());
    let w = write_dataset_threads(&plain, &tmp.path().join("plain"), 2, &mut |_, _| {}).unwrap();
    assert_eq!(w.files.len(), 3);
    assert!(!tmp.path().join("plain/identities.csv").exists());
}

#[test]
fn shares_are_as_promised() {
    let params = customers(100_000, 10.0);
    let model = Model::new(&params).unwrap();
    let ids = identities(&model);
    let buys = purchases(&model);

    // Each account at most once, in account order.
    assert!(ids.windows(2).all(|w| w[0].0 < w[1].0));
    let matched = ids.len() as f64 / params.users as f64;
    assert!((0.78..=0.84).contains(&matched), "matched {matched}");
    let mut accounts: HashMap<&str, u32> = HashMap::new();
    for (_, c) in &ids {
        *accounts.entry(c).or_default() += 1;
    }
    let multi = accounts.values().filter(|&&n| n >= 2).count() as f64 / accounts.len() as f64;
    assert!((0.04..=0.06).contains(&multi), "multi-account {multi}");
    assert!(accounts.values().all(|&n| n <= 3));

    let buyers: HashSet<&str> = buys.iter().map(|p| p.0.as_str()).collect();
    let without: HashSet<&str> = buyers
        .iter()
        .copied()
        .filter(|c| !accounts.contains_key(c))
        .collect();
    assert_eq!(
        without.len() as u64,
        params.users * NO_ACCOUNT_CUSTOMERS_PER_100_USERS / 100,
        "every customer without account buys"
    );
    let all = accounts.len() + without.len();
    let share = without.len() as f64 / all as f64;
    assert!((0.17..=0.23).contains(&share), "without account {share}");

    // A few purchases per buyer, skewed; amounts in cents within 5..500;
    // days in the year; about half with a topic.
    let per_buyer = buys.len() as f64 / buyers.len() as f64;
    assert!((2.5..=4.5).contains(&per_buyer), "per buyer {per_buyer}");
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for p in &buys {
        *counts.entry(&p.0).or_default() += 1;
        assert!(
            (50_000..=5_000_000).contains(&p.2) && p.2 % 100 == 0,
            "{p:?}"
        );
        assert!((START_DAY..START_DAY + SPAN_DAYS).contains(&p.1), "{p:?}");
    }
    let ones = counts.values().filter(|&&n| n == 1).count() as f64 / counts.len() as f64;
    let max = *counts.values().max().unwrap();
    assert!(ones > 0.25 && max >= 10, "one purchase: {ones}, max {max}");
    let topical = buys.iter().filter(|p| p.3.is_some()).count() as f64 / buys.len() as f64;
    assert!((0.4..=0.65).contains(&topical), "with topic {topical}");
    let mut amounts: Vec<i64> = buys.iter().map(|p| p.2).collect();
    amounts.sort_unstable();
    let median = amounts[amounts.len() / 2];
    assert!((200_000..=350_000).contains(&median), "median {median}");
}

/// Over the adoptions of accounts with a customer: the share whose
/// customer buys the topic on or after the adoption day, for persuaded
/// adoptions (a friend adopted 1..=60 days before) and for the others.
fn buy_rates(model: &Model) -> ((u64, u64), (u64, u64)) {
    let mut friends: HashMap<u64, HashSet<u64>> = HashMap::new();
    let mut adopted: HashMap<(u64, u32), i32> = HashMap::new();
    let mut adopt = |u: u64, t: u32, d: i32| {
        let day = adopted.entry((u, t)).or_insert(d);
        *day = (*day).min(d);
    };
    for c in 0..model.edge_chunks() {
        model.edge_chunk(
            c,
            |a, b| {
                friends.entry(a).or_default().insert(b);
                friends.entry(b).or_default().insert(a);
            },
            |a| adopt(a.user, a.topic, a.day),
        );
    }
    for c in 0..model.adoption_chunks() {
        model.adoption_chunk(c, |a| adopt(a.user, a.topic, a.day));
    }
    let customer: HashMap<u64, String> = identities(model).into_iter().collect();
    let mut bought: HashMap<(String, String), Vec<i32>> = HashMap::new();
    for (c, day, _, topic) in purchases(model) {
        if let Some(t) = topic {
            bought.entry((c, t)).or_default().push(day);
        }
    }
    let (mut persuaded, mut other) = ((0, 0), (0, 0));
    for (&(v, t), &day) in &adopted {
        let Some(c) = customer.get(&v) else { continue };
        let is_persuaded = friends.get(&v).is_some_and(|n| {
            n.iter().any(|w| {
                adopted
                    .get(&(*w, t))
                    .is_some_and(|&dw| (1..=60).contains(&(day - dw)))
            })
        });
        let buys = bought
            .get(&(c.clone(), model.topic_name(t)))
            .is_some_and(|days| days.iter().any(|&d| d >= day));
        let rate = if is_persuaded {
            &mut persuaded
        } else {
            &mut other
        };
        rate.0 += u64::from(buys);
        rate.1 += 1;
    }
    (persuaded, other)
}

#[test]
fn persuaded_adopters_customers_buy_the_topic_more_often() {
    let model = Model::new(&Params {
        topics: 200,
        adoptions_per_user: 2.0,
        cascade_seeds: Some(400),
        ..customers(20_000, 20.0)
    })
    .unwrap();
    let (persuaded, other) = buy_rates(&model);
    let rate = |(b, n): (u64, u64)| b as f64 / n as f64;
    eprintln!(
        "persuaded: {persuaded:?} = {:.3}, others: {other:?} = {:.3}",
        rate(persuaded),
        rate(other)
    );
    assert!(persuaded.1 > 2_000 && other.1 > 2_000);
    // Followers buy with probability 0.5 on top of what every adopter does
    // (0.1 plus background purchases): persuaded adoptions, a mix of
    // followers and spontaneous adoptions, buy well above the others.
    assert!(
        rate(persuaded) > 1.5 * rate(other) && rate(persuaded) > rate(other) + 0.05,
        "persuaded {persuaded:?}, others {other:?}"
    );
}

#[test]
fn nights_are_valid_against_the_base() {
    let model = Model::new(&customers(30_000, 10.0)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_dataset_threads(&model, dir, 2, &mut |_, _| {}).unwrap();
    let nights = write_nights(&model, dir, 3).unwrap();
    let mut mapping: HashMap<u64, String> = read_identities(&dir.join("identities.csv"))
        .into_iter()
        .collect();
    let mut bag: HashMap<Purchase, u32> = HashMap::new();
    for p in read_purchases(&dir.join("purchases.csv")) {
        *bag.entry(p).or_default() += 1;
    }
    let (mut mapped, mut remapped, mut deferred, mut unmapped) = (0, 0, 0, 0);
    let (mut bought, mut refunded) = (0, 0);
    let (mut id_lines, mut buy_lines) = (0, 0);
    let mut open_remaps: HashSet<u64> = HashSet::new();
    for night in &nights.nights {
        let day = iso_days(night.file_name().unwrap().to_str().unwrap()).unwrap();
        let text = std::fs::read_to_string(night.join("identities.csv")).unwrap();
        let mut removed_tonight = HashSet::new();
        let last_night = std::mem::take(&mut open_remaps);
        for f in lines(&text, "op,account,customer") {
            assert_eq!(f.len(), 3, "{f:?}");
            assert!(plain(f[2]), "{f:?}");
            let account: u64 = f[1].parse().unwrap();
            id_lines += 1;
            match f[0] {
                "+" => {
                    let before = mapping.insert(account, f[2].to_string());
                    assert!(
                        before.is_none(),
                        "{f:?}: maps a mapped account ({before:?})"
                    );
                    if removed_tonight.remove(&account) {
                        remapped += 1;
                    } else if last_night.contains(&account) {
                        deferred += 1;
                    } else {
                        mapped += 1;
                    }
                }
                "-" => {
                    let before = mapping.remove(&account);
                    assert_eq!(
                        before.as_deref(),
                        Some(f[2]),
                        "{f:?}: not a current mapping"
                    );
                    removed_tonight.insert(account);
                    unmapped += 1;
                }
                op => panic!("unknown op {op:?}"),
            }
        }
        open_remaps = removed_tonight;
        let text = std::fs::read_to_string(night.join("purchases.csv")).unwrap();
        for f in lines(&text, "op,customer,day,amount,topic") {
            let p = parse_purchase(&f[1..]).unwrap_or_else(|e| panic!("{f:?}: {e}"));
            buy_lines += 1;
            match f[0] {
                "+" => {
                    assert_eq!(p.1, day, "{f:?}: a night's purchase is on its day");
                    *bag.entry(p).or_default() += 1;
                    bought += 1;
                }
                "-" => {
                    let n = bag.get_mut(&p).filter(|n| **n > 0);
                    *n.unwrap_or_else(|| panic!("{f:?}: refunds an absent purchase")) -= 1;
                    refunded += 1;
                }
                op => panic!("unknown op {op:?}"),
            }
        }
    }
    eprintln!(
        "mapped {mapped}, unmapped {unmapped}, remapped the same night {remapped}, \
         on the next {deferred}; bought {bought}, refunded {refunded}"
    );
    assert!(mapped > 20 && remapped > 0 && deferred > 0 && bought > 100 && refunded > 20);
    assert_eq!(nights.identity_changes, id_lines);
    assert_eq!(nights.purchase_changes, buy_lines);
}

#[test]
fn text_ids_rename_the_accounts_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let generate = |out: &str, text: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_reach"));
        cmd.args(["generate", "--users", "3000", "--mean-degree", "10"]);
        cmd.args(["--customers", "--nights", "2", "-q", "--out"]);
        cmd.arg(tmp.path().join(out));
        if text {
            cmd.arg("--text-ids");
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        tmp.path().join(out)
    };
    let (ints, texts) = (generate("ints", false), generate("texts", true));
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    let ids = read(&ints.join("identities.csv"));
    let handles = read(&texts.join("identities.csv"));
    let expected: Vec<String> = ids
        .lines()
        .skip(1)
        .map(|l| {
            let (a, c) = l.split_once(',').unwrap();
            format!("{},{c}", reach::handles::handle(a.parse().unwrap()))
        })
        .collect();
    assert_eq!(handles.lines().skip(1).collect::<Vec<_>>(), expected);
    assert_eq!(
        read(&ints.join("purchases.csv")),
        read(&texts.join("purchases.csv"))
    );
    let night = "nights/2026-01-01";
    let (a, b) = (
        read(&ints.join(night).join("identities.csv")),
        read(&texts.join(night).join("identities.csv")),
    );
    assert!(a.lines().count() > 1);
    for (x, y) in a.lines().zip(b.lines()).skip(1) {
        let fx: Vec<&str> = x.split(',').collect();
        let fy: Vec<&str> = y.split(',').collect();
        assert_eq!(
            fy,
            [
                fx[0],
                &reach::handles::handle(fx[1].parse().unwrap()),
                fx[2]
            ]
        );
    }
}

#[test]
fn the_crm_job_generates_customers() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs/crm.toml");
    let job = reach::job::Job::resolve(Some(&path), reach::job::Overrides::default()).unwrap();
    match &job.source {
        reach::job::Source::Generated(p) => assert!(p.customers, "{p:?}"),
        other => panic!("jobs/crm.toml does not generate: {other:?}"),
    }
    assert!(job.report);
    assert_eq!(job.output, Path::new("out/crm"));
}

/// The customers are part of the generated data's contract, like the graph
/// (tests/generate.rs, golden_values): a change to the walk, the id
/// formula, the purchase draws or their streams changes these values. If
/// you change any of them on purpose, say so in the changelog and update them.
#[test]
fn golden_values() {
    let model = Model::new(&customers(10_000, 90.0)).unwrap();
    let ids = identities(&model);
    let buys = purchases(&model);
    let mut hash = 0xCBF2_9CE4_8422_2325u64;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    };
    for (a, c) in &ids {
        eat(format!("{a},{c}\n").as_bytes());
    }
    for (c, d, a, t) in &buys {
        eat(format!("{c},{d},{a},{t:?}\n").as_bytes());
    }
    assert_eq!((ids.len(), buys.len()), (8130, 23589));
    assert_eq!(
        ids[..2],
        [
            (0, "0035e000DuWMeOf".into()),
            (1, "cus_5PMSLcAP8nNpkj".into())
        ]
    );
    let first = (
        "0035e000DebsWz1".to_string(),
        20_363,
        174_200,
        Some("topic-0204".into()),
    );
    assert_eq!(buys[0], first);
    assert_eq!(hash, 0x7F39_593C_D057_2E43);
}
