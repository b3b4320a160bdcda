//! Tests of the synthetic dataset generator through its public API.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use reach::generate::{
    write_dataset, Adoption, Model, Params, EDGE_CHUNK, FOLLOW_WINDOW_DAYS, SPAN_DAYS, START_DAY,
    USER_CHUNK,
};

/// All edges and cascade adoptions of one edge chunk.
fn edge_chunk(model: &Model, chunk: usize) -> (Vec<(u64, u64)>, Vec<Adoption>) {
    let (mut edges, mut adoptions) = (Vec::new(), Vec::new());
    model.edge_chunk(chunk, |a, b| edges.push((a, b)), |a| adoptions.push(a));
    (edges, adoptions)
}

fn adoption_chunk(model: &Model, chunk: usize) -> Vec<Adoption> {
    let mut adoptions = Vec::new();
    model.adoption_chunk(chunk, |a| adoptions.push(a));
    adoptions
}

/// Distinct friend count of every user (index = user id).
fn distinct_degrees(model: &Model) -> (Vec<u32>, u64) {
    let users = model.params().users;
    assert!(users <= 1 << 32);
    let mut keys = Vec::with_capacity(model.edges() as usize);
    for c in 0..model.edge_chunks() {
        model.edge_chunk(c, |a, b| keys.push((a.min(b) << 32) | a.max(b)), |_| {});
    }
    keys.sort_unstable();
    keys.dedup();
    let mut degree = vec![0u32; users as usize];
    for k in &keys {
        degree[(k >> 32) as usize] += 1;
        degree[(k & 0xFFFF_FFFF) as usize] += 1;
    }
    (degree, keys.len() as u64)
}

struct Shares {
    with_friends: u64,
    over_100: f64,
    at_least_1000: f64,
    mean_degree: f64,
    max_degree: u32,
}

/// Shares as METRICS.md defines them: over users with at least one friend.
fn shares(degree: &[u32], distinct: u64) -> Shares {
    let with_friends = degree.iter().filter(|&&d| d >= 1).count() as u64;
    let count = |min: u32| degree.iter().filter(|&&d| d >= min).count() as f64;
    Shares {
        with_friends,
        over_100: count(101) / with_friends as f64,
        at_least_1000: count(1000) / with_friends as f64,
        mean_degree: 2.0 * distinct as f64 / degree.len() as f64,
        max_degree: degree.iter().copied().max().unwrap_or(0),
    }
}

#[test]
fn same_params_give_the_same_chunks_in_any_order() {
    // 150k users of mean degree 30: 3 edge chunks and 3 adoption chunks.
    let params = Params {
        users: 150_000,
        mean_degree: 30.0,
        ..Params::default()
    };
    let a = Model::new(&params).unwrap();
    let b = Model::new(&params).unwrap();
    assert!(a.edge_chunks() >= 3 && a.adoption_chunks() >= 3);
    assert_eq!(a.edges(), b.edges());
    assert_eq!(a.planted(), b.planted());

    let forward: Vec<_> = (0..a.edge_chunks()).map(|c| edge_chunk(&a, c)).collect();
    let mut backward: Vec<_> = (0..b.edge_chunks())
        .rev()
        .map(|c| edge_chunk(&b, c))
        .collect();
    backward.reverse();
    assert!(
        forward == backward,
        "edge chunks depend on generation order"
    );
    let total: usize = forward.iter().map(|(e, _)| e.len()).sum();
    assert_eq!(total as u64, a.edges());
    assert_eq!(forward[0].0.len() as u64, EDGE_CHUNK);

    let forward: Vec<_> = (0..a.adoption_chunks())
        .map(|c| adoption_chunk(&a, c))
        .collect();
    let mut backward: Vec<_> = (0..b.adoption_chunks())
        .rev()
        .map(|c| adoption_chunk(&b, c))
        .collect();
    backward.reverse();
    assert!(
        forward == backward,
        "adoption chunks depend on generation order"
    );

    // Chunks from different threads agree too.
    let threaded: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..a.adoption_chunks())
            .map(|c| {
                let a = &a;
                s.spawn(move || adoption_chunk(a, c))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(forward == threaded);

    let other = Model::new(&Params { seed: 8, ..params }).unwrap();
    assert_ne!(edge_chunk(&other, 0).0, edge_chunk(&a, 0).0);
    assert_ne!(adoption_chunk(&other, 0), adoption_chunk(&a, 0));
    assert_ne!(other.planted(), a.planted());
}

#[test]
fn default_degrees_match_the_study() {
    // 200k users with the default mean 90 and sigma 1.5 (about 9M edge lines).
    let model = Model::new(&Params {
        users: 200_000,
        ..Params::default()
    })
    .unwrap();
    let (degree, distinct) = distinct_degrees(&model);
    let s = shares(&degree, distinct);
    eprintln!(
        "200k users: {} edge lines, {distinct} friendships, {} users with friends, \
         >100: {:.4}, >=1000: {:.5}, mean {:.2}, max {}",
        model.edges(),
        s.with_friends,
        s.over_100,
        s.at_least_1000,
        s.mean_degree,
        s.max_degree
    );
    // The lognormal gives P(w > 100) = 0.206 and P(w >= 1000) = 0.0093;
    // Poisson noise, duplicate collapse and ~1% friendless users move the
    // realized shares by well under a point. With 200k users the sampling
    // error of a share is about sqrt(0.2 * 0.8 / 200k) = 0.0009, so the
    // band [0.15, 0.25] only fails if the model is miscalibrated.
    assert!((0.15..=0.25).contains(&s.over_100), "{}", s.over_100);
    // 0.93% expected with a standard error of 0.02 points: below 1% unless
    // the tail is wrong. Also not empty, so that super-connectors exist.
    assert!(s.at_least_1000 < 0.01, "{}", s.at_least_1000);
    assert!(s.at_least_1000 > 0.005, "{}", s.at_least_1000);
    // Duplicate edges collapse (mostly between hubs: the expected number of
    // lines between i and j is w_i w_j / sum(w)), which costs a few percent
    // of the mean; 10% leaves room for that and nothing else.
    assert!(
        (s.mean_degree / 90.0 - 1.0).abs() < 0.10,
        "mean distinct degree {}",
        s.mean_degree
    );
}

#[test]
fn records_are_well_formed() {
    let params = Params {
        users: 30_000,
        mean_degree: 40.0,
        topics: 200,
        ..Params::default()
    };
    let model = Model::new(&params).unwrap();
    for c in 0..model.edge_chunks() {
        let (edges, adoptions) = edge_chunk(&model, c);
        for (a, b) in edges {
            assert_ne!(a, b, "self-loop");
            assert!(a < params.users && b < params.users);
        }
        for a in adoptions {
            assert!(a.user < params.users && a.topic < params.topics);
        }
    }
    let mut per_topic = vec![0u64; params.topics as usize];
    let mut total = 0u64;
    for c in 0..model.adoption_chunks() {
        let lo = c as u64 * USER_CHUNK;
        let mut last_user = lo;
        for a in adoption_chunk(&model, c) {
            assert!(a.user >= last_user, "users out of order");
            last_user = a.user;
            assert!(a.user < params.users && a.user < lo + USER_CHUNK);
            assert!(a.topic < params.topics);
            assert!((START_DAY..START_DAY + SPAN_DAYS).contains(&a.day));
            per_topic[a.topic as usize] += 1;
            total += 1;
        }
    }
    // Poisson(5) per user: 150k expected, standard deviation about 390.
    let mean = total as f64 / params.users as f64;
    assert!((mean - 5.0).abs() < 0.1, "mean adoptions per user {mean}");
    // Zipf(1) over 200 topics: topic 0 has 17% of the draws, topic 1 half
    // that, so topic 0 is the most frequent by far.
    let max = per_topic.iter().max().unwrap();
    assert_eq!(per_topic[0], *max);
    assert!(per_topic[0] > per_topic[1] * 3 / 2);
    assert!(per_topic[1] > per_topic[199] * 20);

    assert_eq!(model.planted().len(), 30);
    for p in model.planted() {
        assert!(p.topic >= params.topics / 2 && p.topic < params.topics);
        assert!((START_DAY..START_DAY + 300).contains(&p.day));
    }
    let users: HashSet<u64> = model.planted().iter().map(|p| p.user).collect();
    assert_eq!(users.len(), model.planted().len(), "seeds are not distinct");
    assert!(model.planted().windows(2).all(|w| w[0].user < w[1].user));

    assert_eq!(model.topic_name(0), "topic-0001");
    assert_eq!(model.topic_name(199), "topic-0200");
    let wide = Model::new(&Params {
        users: 10,
        mean_degree: 2.0,
        topics: 123_456,
        ..Params::default()
    })
    .unwrap();
    assert_eq!(wide.topic_name(0), "topic-000001");
    assert!(wide.planted().is_empty(), "no default seed under 100 users");
}

#[test]
fn cascades_follow_seeds_among_their_friends() {
    let params = Params {
        users: 20_000,
        ..Params::default()
    };
    let model = Model::new(&params).unwrap();
    let seeds: HashMap<u64, _> = model.planted().iter().map(|p| (p.user, *p)).collect();
    assert_eq!(seeds.len(), 20);

    // Every seed adopts its topic on its day, exactly once, in the
    // adoption chunk of its user range.
    let mut own = HashMap::new();
    for c in 0..model.adoption_chunks() {
        for a in adoption_chunk(&model, c) {
            if let Some(p) = seeds.get(&a.user) {
                if a.topic == p.topic {
                    assert_eq!(a.day, p.day);
                    *own.entry(a.user).or_insert(0) += 1;
                }
            }
        }
    }
    assert_eq!(own.len(), seeds.len());
    assert!(own.values().all(|&n| n == 1));

    let mut friends: HashSet<(u64, u64)> = HashSet::new();
    let mut followed: HashMap<(u64, u32), i32> = HashMap::new();
    for c in 0..model.edge_chunks() {
        let (edges, adoptions) = edge_chunk(&model, c);
        for (a, b) in edges {
            friends.insert((a, b));
            friends.insert((b, a));
        }
        for a in adoptions {
            // Repeated edges repeat the same adoption, same day.
            if let Some(&day) = followed.get(&(a.user, a.topic)) {
                if seeds.values().filter(|p| p.topic == a.topic).count() == 1 {
                    assert_eq!(day, a.day);
                }
            }
            followed.insert((a.user, a.topic), a.day);
            let seed = seeds
                .values()
                .find(|p| {
                    p.topic == a.topic
                        && friends.contains(&(p.user, a.user))
                        && (1..=FOLLOW_WINDOW_DAYS).contains(&(a.day - p.day))
                })
                .unwrap_or_else(|| panic!("{a:?} follows no seed among its friends"));
            assert_ne!(seed.user, a.user);
        }
    }
    // Each friend follows with probability 0.5: about half of the seeds'
    // distinct friends.
    let contacts = friends
        .iter()
        .filter(|(s, _)| seeds.contains_key(s))
        .count();
    let share = followed.len() as f64 / contacts as f64;
    assert!(
        (0.4..=0.6).contains(&share),
        "{} of {contacts}",
        followed.len()
    );

    let none = Model::new(&Params {
        cascade_follow_prob: 0.0,
        ..params.clone()
    })
    .unwrap();
    assert!(edge_chunk(&none, 0).1.is_empty());
}

#[test]
fn bad_parameters_are_named() {
    let bad = |p: Params, name: &str| {
        let err = Model::new(&p).err().expect("accepted bad parameters");
        assert!(err.contains(name), "{err:?} does not name {name}");
    };
    let d = Params::default;
    bad(Params { users: 1, ..d() }, "users");
    bad(
        Params {
            mean_degree: 0.0,
            ..d()
        },
        "mean_degree",
    );
    bad(
        Params {
            users: 50,
            mean_degree: 50.0,
            ..d()
        },
        "mean_degree",
    );
    bad(
        Params {
            mean_degree: f64::NAN,
            ..d()
        },
        "mean_degree",
    );
    bad(Params { sigma: -1.0, ..d() }, "sigma");
    bad(Params { topics: 0, ..d() }, "topics");
    bad(
        Params {
            zipf_exponent: f64::INFINITY,
            ..d()
        },
        "zipf_exponent",
    );
    bad(
        Params {
            adoptions_per_user: -0.5,
            ..d()
        },
        "adoptions_per_user",
    );
    bad(
        Params {
            cascade_seeds: Some(100_001),
            ..d()
        },
        "cascade_seeds",
    );
    bad(
        Params {
            cascade_follow_prob: 1.5,
            ..d()
        },
        "cascade_follow_prob",
    );
}

#[test]
fn tiny_and_extreme_models_work() {
    // Two users: every edge is 0-1.
    let model = Model::new(&Params {
        users: 2,
        mean_degree: 1.0,
        ..Params::default()
    })
    .unwrap();
    for c in 0..model.edge_chunks() {
        for (a, b) in edge_chunk(&model, c).0 {
            assert_eq!(a.min(b), 0);
            assert_eq!(a.max(b), 1);
        }
    }
    // A huge sigma concentrates the weight on a few users; self-loop
    // redraws must still terminate. Many adoptions per user use the
    // piecewise Poisson draw.
    let model = Model::new(&Params {
        users: 1000,
        mean_degree: 10.0,
        sigma: 6.0,
        adoptions_per_user: 100.0,
        cascade_seeds: Some(1000),
        cascade_follow_prob: 1.0,
        ..Params::default()
    })
    .unwrap();
    assert_eq!(model.planted().len(), 1000);
    for c in 0..model.edge_chunks() {
        for (a, b) in edge_chunk(&model, c).0 {
            assert_ne!(a, b);
        }
    }
    let n = adoption_chunk(&model, 0).len() as f64 / 1000.0;
    assert!((n - 100.0).abs() < 2.0, "mean adoptions per user {n}");
}

#[test]
fn write_dataset_writes_the_same_bytes_twice() {
    let model = Model::new(&Params {
        users: 5_000,
        mean_degree: 20.0,
        cascade_seeds: Some(10),
        ..Params::default()
    })
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut calls = Vec::new();
    let written =
        write_dataset(&model, &dir, &mut |done, total| calls.push((done, total))).unwrap();
    let total = model.edges() + 5_000;
    assert_eq!(calls.first(), Some(&(0, total)));
    assert_eq!(calls.last(), Some(&(total, total)));
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(written.friendships, model.edges());
    assert_eq!(written.planted, 10);
    let names: Vec<_> = written
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["friendships.csv", "adoptions.csv", "planted.csv"]);
    let listing: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(listing.len(), 3, "temporary files left behind");

    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let (f1, a1, p1) = (
        read("friendships.csv"),
        read("adoptions.csv"),
        read("planted.csv"),
    );
    let f_lines: Vec<&str> = f1.lines().collect();
    assert_eq!(f_lines[0], "src,dst");
    assert_eq!(f_lines.len() as u64, 1 + written.friendships);
    let mut edges = Vec::new();
    model.edge_chunk(0, |a, b| edges.push(format!("{a},{b}")), |_| {});
    assert_eq!(f_lines[1..], edges[..]);

    let a_lines: Vec<&str> = a1.lines().collect();
    assert_eq!(a_lines[0], "user,topic,day");
    assert_eq!(a_lines.len() as u64, 1 + written.adoptions);
    let first = adoption_chunk(&model, 0)[0];
    let day = first.day - START_DAY;
    assert!(a_lines[1].starts_with(&format!(
        "{},{},2025-",
        first.user,
        model.topic_name(first.topic)
    )));
    assert!(day >= 0);
    for line in &a_lines[1..] {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 3);
        assert!(fields[1].starts_with("topic-"));
        assert_eq!(fields[2].len(), 10);
        assert!(fields[2].starts_with("2025-"));
    }

    // planted.csv: the seeds, with their distinct friends and followers.
    let p_lines: Vec<&str> = p1.lines().collect();
    assert_eq!(p_lines[0], "user,topic,day,friends,followers");
    assert_eq!(p_lines.len(), 11);
    let mut neighbours: HashMap<u64, HashSet<u64>> = HashMap::new();
    for (a, b) in f_lines[1..].iter().map(|l| {
        let (a, b) = l.split_once(',').unwrap();
        (a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap())
    }) {
        neighbours.entry(a).or_default().insert(b);
        neighbours.entry(b).or_default().insert(a);
    }
    for (line, p) in p_lines[1..].iter().zip(model.planted()) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], p.user.to_string());
        assert_eq!(fields[1], model.topic_name(p.topic));
        let friends = neighbours.get(&p.user).map_or(0, |n| n.len());
        assert_eq!(fields[3], friends.to_string());
        let followers: u64 = fields[4].parse().unwrap();
        assert!(followers as usize <= friends);
    }

    // Twice, into the same directory and into another: the same bytes.
    let again = write_dataset(&model, &dir, &mut |_, _| {}).unwrap();
    assert_eq!(again.adoptions, written.adoptions);
    assert_eq!(read("friendships.csv"), f1);
    assert_eq!(read("adoptions.csv"), a1);
    assert_eq!(read("planted.csv"), p1);
    // A directory that cannot be created is an error, not a panic.
    let blocked = tmp.path().join("data").join("friendships.csv").join("x");
    assert!(write_dataset(&model, &blocked, &mut |_, _| {}).is_err());

    let other = tmp.path().join("other");
    write_dataset(&model, &other, &mut |_, _| {}).unwrap();
    for name in ["friendships.csv", "adoptions.csv", "planted.csv"] {
        assert_eq!(
            std::fs::read(other.join(name)).unwrap(),
            read(name).as_bytes()
        );
    }
}

/// The calibration at the scale the project cites (1M users, mean 90):
/// `cargo test --release --test generate -- --ignored --nocapture`.
#[test]
#[ignore = "1M users: about 15 s in release, writes 770 MB to the temp dir"]
fn calibration_at_one_million_users() {
    let params = Params {
        users: 1_000_000,
        ..Params::default()
    };
    let start = Instant::now();
    let model = Model::new(&params).unwrap();
    eprintln!("model built in {:.2?}", start.elapsed());
    let start = Instant::now();
    let (degree, distinct) = distinct_degrees(&model);
    eprintln!("degrees in {:.2?}", start.elapsed());
    let s = shares(&degree, distinct);
    eprintln!(
        "1M users: {} edge lines, {distinct} distinct friendships, {} users with friends, \
         >100: {:.4}, >=1000: {:.5}, mean distinct degree {:.2}, max {}",
        model.edges(),
        s.with_friends,
        s.over_100,
        s.at_least_1000,
        s.mean_degree,
        s.max_degree
    );
    assert!((0.18..=0.22).contains(&s.over_100));
    assert!(s.at_least_1000 < 0.01);

    let tmp = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let written = write_dataset(&model, tmp.path(), &mut |_, _| {}).unwrap();
    let elapsed = start.elapsed();
    for f in &written.files {
        eprintln!(
            "{}: {} bytes",
            f.display(),
            std::fs::metadata(f).unwrap().len()
        );
    }
    eprintln!(
        "write_dataset: {} friendship lines, {} adoption lines, {} seeds in {elapsed:.2?}",
        written.friendships, written.adoptions, written.planted
    );
}

/// FNV-1a over the little-endian bytes of `words`.
fn fnv(hash: &mut u64, words: &[u64]) {
    for w in words {
        for b in w.to_le_bytes() {
            *hash = (*hash ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }
}

/// The generated data is part of the contract: a change to the PRNG, the
/// stream seeding, the normal or Poisson draws, the alias tables, the
/// follow hash or the chunk sizes changes these values. If you change any
/// of them on purpose, every published synthetic dataset changes too: say
/// so in the changelog and update the values.
#[test]
fn golden_values() {
    let model = Model::new(&Params {
        users: 10_000,
        ..Params::default()
    })
    .unwrap();
    let (mut edges_hash, mut adoptions_hash) = (0xCBF2_9CE4_8422_2325u64, 0xCBF2_9CE4_8422_2325u64);
    let mut first_edges = Vec::new();
    for c in 0..model.edge_chunks() {
        model.edge_chunk(
            c,
            |a, b| {
                if first_edges.len() < 3 {
                    first_edges.push((a, b));
                }
                fnv(&mut edges_hash, &[a, b]);
            },
            |a| {
                fnv(
                    &mut adoptions_hash,
                    &[a.user, u64::from(a.topic), a.day as u64],
                )
            },
        );
    }
    let mut first_adoptions = Vec::new();
    for c in 0..model.adoption_chunks() {
        model.adoption_chunk(c, |a| {
            if first_adoptions.len() < 2 {
                first_adoptions.push(a);
            }
            fnv(
                &mut adoptions_hash,
                &[a.user, u64::from(a.topic), a.day as u64],
            );
        });
    }
    assert_eq!(model.edges(), 445_532);
    assert_eq!(first_edges, [(7141, 7803), (9180, 6067), (9307, 9846)]);
    assert_eq!(edges_hash, 0xC48C_EB48_F431_AA59);
    let adoption = |user, topic, day| Adoption { user, topic, day };
    assert_eq!(
        first_adoptions,
        [adoption(0, 0, 20_190), adoption(0, 1, 20_367)]
    );
    assert_eq!(adoptions_hash, 0x53DB_5D6A_D10C_DFEA);
    let p = model.planted()[0];
    assert_eq!((p.user, p.topic, p.day), (614, 702, 20_194));
}
