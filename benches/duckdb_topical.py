#!/usr/bin/env python3
"""The full `reach run` job (friendships + adoptions), in DuckDB SQL: a yardstick.

Usage:
    python3 benches/duckdb_topical.py FRIENDSHIPS_CSV ADOPTIONS_CSV OUT_DIR
        [--threads 2] [--window 60] [--top-k 100] [--memory-limit 20GB] [--float-credit]

Needs the `duckdb` Python package (`pip install duckdb`); benches/topical.sh
installs it into a venv under target/bench-venv when it is missing.

Same semantics as `reach run --friendships F --adoptions A` (METRICS.md):
  * the graph is undirected and simple: `a,b` and `b,a` are one friendship,
    repeated lines are one friendship, self-loops are dropped;
  * a(u,t) is the earliest day over the lines of (user, topic);
  * reach(u,t)     = #{v in N(u): a(v,t) defined}
    persuaded(u,t) = #{v in N(u): 1 <= a(v,t) - a(u,t) <= W}
    k(v,t)         = #{w in N(v): 1 <= a(v,t) - a(w,t) <= W}
    credit(u,t)    = sum over v in N(u), 1 <= a(v,t) - a(u,t) <= W, of 1 / k(v,t)
  * influence(u) = sum_t credit(u,t); persuaded_total(u) = sum_t persuaded(u,t);
  * topic leaders: per topic, credit > 0, ordered by credit desc, persuaded
    desc, user id asc, the first K ranked 1..K;
  * top_topic(u): the topic with the largest credit > 0, ties by name
    ascending (byte order); empty if none;
  * tier: 'super-connector' (friend_count >= 1000), else 'topical-influencer'
    (a leader in any topic), else 'connector' (>= 101), else 'standard';
  * users: every user with a friendship or an adoption (friend_count 0 if none).

The plan (what a SQL analyst would write for speed):
  1. friendships: load, normalise each pair to (least, greatest), drop
     self-loops, DISTINCT once; then a directed edge table, both directions;
  2. adoptions: load, GROUP BY (user, topic) once for the earliest day; topic
     names become small integer ids numbered in name order (so that id order
     is name order for the top_topic tie-break);
  3. co-adoptions: adoptions JOIN directed (on the user) JOIN adoptions (on
     the friend and the topic): one row per (u, v, t) with both adopting t,
     and the gap a(v,t) - a(u,t);
  4. per adoption, GROUP BY: reach and persuaded; persuasion pairs (gap in
     1..W), k per (v, t), credit per (u, t) summed exactly as a fraction
     (HUGEINT) and written as the nearest double, as reach does (except the
     rare sums over an lcm of 2^100 or more: a float sum in ascending k, see
     the code). A plain float sum makes 1/2 + 1/3 + 1/6 0.9999999999999999,
     and exact ties in credit (frequent: credits are sums of small
     fractions) then rank differently from the definition (--float-credit
     does that, for comparison);
  5. leaders with a window function, users with their aggregates, tiers;
  6. COPY every table to CSV, sorted.

Writes OUT_DIR/users.csv (sorted by user_id), user_topics.csv (by user_id,
topic), topic_leaders.csv (by topic, rank), degree_distribution.csv and
topics.csv (topic,adopters,socially_explained), and prints one JSON line of
counts and per-stage seconds on stdout.

Inputs: CSVs with headers `src,dst` and `user,topic,day` (`day` an ISO date),
what `reach generate` writes. The database is in memory: the measured peak RSS
is what the queries need.
"""

import argparse
import json
import os
import sys
import time

from duckdb_common import (
    CONNECTOR_MIN,
    SUPER_CONNECTOR_MIN,
    add_connection_args,
    connect,
    load_friendships,
    sql_path,
)

import duckdb  # after duckdb_common, which says how to install it


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("friendships", help="friendships CSV with header src,dst")
    parser.add_argument("adoptions", help="adoptions CSV with header user,topic,day")
    parser.add_argument("out_dir", help="directory for the CSV tables")
    add_connection_args(parser)
    parser.add_argument("--window", type=int, default=60, help="window_days W (default 60)")
    parser.add_argument("--top-k", type=int, default=100, help="leaders per topic K (default 100)")
    parser.add_argument(
        "--float-credit",
        action="store_true",
        help="credit as a plain float sum of 1/k (faster; exact ties may rank differently)",
    )
    args = parser.parse_args()

    for path in (args.friendships, args.adoptions):
        if not os.path.isfile(path):
            sys.exit(f"duckdb_topical.py: no such file: {path}")
    if args.window < 1 or args.top_k < 1:
        sys.exit("duckdb_topical.py: --window and --top-k must be >= 1")
    os.makedirs(args.out_dir, exist_ok=True)
    W = int(args.window)
    K = int(args.top_k)

    con = connect(args)

    stages = {}
    t = [time.perf_counter()]

    def stage(name: str) -> None:
        t.append(time.perf_counter())
        stages[name] = round(t[-1] - t[-2], 3)

    # 1. Friendships: normalise + drop self-loops + DISTINCT once, then both directions.
    load_friendships(con, args.friendships)
    friendships = con.execute("SELECT count(*) FROM friendships").fetchone()[0]
    con.execute(
        """
        CREATE TEMP TABLE directed AS
        SELECT a AS u, b AS v FROM friendships
        UNION ALL
        SELECT b AS u, a AS v FROM friendships
        """
    )
    con.execute("DROP TABLE friendships")
    con.execute(
        """
        CREATE TEMP TABLE friend_counts AS
        SELECT u AS user_id, count(*)::BIGINT AS friend_count
        FROM directed GROUP BY u
        """
    )
    stage("friendships_s")

    # 2. Adoptions: earliest day per (user, topic), once; topics as ids in name order.
    con.execute(
        f"""
        CREATE TEMP TABLE adoption_days AS
        SELECT "user" AS u, topic, min(day) AS day
        FROM read_csv({sql_path(args.adoptions)},
                      header = true, delim = ',',
                      columns = {{'user': 'UBIGINT', 'topic': 'VARCHAR', 'day': 'DATE'}})
        GROUP BY "user", topic
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE topic_names AS
        SELECT topic, (row_number() OVER (ORDER BY topic))::INTEGER AS tid
        FROM (SELECT DISTINCT topic FROM adoption_days)
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE adoptions AS
        SELECT d.u, n.tid, d.day
        FROM adoption_days d JOIN topic_names n USING (topic)
        """
    )
    con.execute("DROP TABLE adoption_days")
    stage("adoptions_s")

    # 3. Co-adoptions: u and its friend v both adopted t; gap = a(v,t) - a(u,t).
    con.execute(
        """
        CREATE TEMP TABLE pairs AS
        SELECT x.u, e.v, x.tid, (y.day - x.day)::INTEGER AS gap
        FROM adoptions x
        JOIN directed e ON e.u = x.u
        JOIN adoptions y ON y.u = e.v AND y.tid = x.tid
        """
    )
    stage("co_adoptions_s")

    # 4. Per adoption: reach, persuaded; persuasion pairs, k, credit.
    con.execute(
        f"""
        CREATE TEMP TABLE counts AS
        SELECT u, tid,
               count(*)::BIGINT AS reach,
               (count(*) FILTER (WHERE gap BETWEEN 1 AND {W}))::BIGINT AS persuaded
        FROM pairs GROUP BY u, tid
        """
    )
    # u persuaded v: v adopted 1..W days after u.
    con.execute(
        f"""
        CREATE TEMP TABLE persuasions AS
        SELECT u, v, tid FROM pairs WHERE gap BETWEEN 1 AND {W}
        """
    )
    con.execute("DROP TABLE pairs")
    # k(v,t): v's friends w who adopted 1..W days before v = the persuasions into v.
    con.execute(
        """
        CREATE TEMP TABLE persuaders AS
        SELECT v, tid, count(*)::BIGINT AS k FROM persuasions GROUP BY v, tid
        """
    )
    if args.float_credit:
        # The naive sum: 1/2 + 1/3 + 1/6 comes out 0.9999999999999999, so exact
        # ties in credit can rank differently from the definition.
        con.execute(
            """
            CREATE TEMP TABLE credits AS
            SELECT p.u, p.tid, sum(1.0 / k.k) AS credit
            FROM persuasions p JOIN persuaders k ON k.v = p.v AND k.tid = p.tid
            GROUP BY p.u, p.tid
            """
        )
    else:
        # Exact, as reach does it: per (u, t), n_k persuaded friends with
        # k(v,t) = k; the sum of the n_k / k as a fraction over the lcm of
        # the k (HUGEINT), reduced, then the double nearest to it (one
        # division while numerator and denominator fit 53 bits, as reach
        # does). Where the lcm reaches 2^100 (the numerator, at most 2^20
        # times it, could overflow; at 1M users 0.5% of the (u, t) with
        # credit: leaders with dozens of distinct k), a float sum in
        # ascending k, which is what reach falls back to when its u128 fold
        # overflows; there the two may differ in the last bits (an exact
        # fold in SQL lambdas cost 7-11 s more at 1M users).
        con.execute(
            """
            CREATE TEMP TABLE credit_shares AS
            SELECT p.u, p.tid, k.k, count(*)::BIGINT AS n
            FROM persuasions p JOIN persuaders k ON k.v = p.v AND k.tid = p.tid
            GROUP BY p.u, p.tid, k.k
            """
        )
        con.execute(
            """
            CREATE TEMP TABLE credits AS
            WITH shares AS (
                SELECT u, tid, list({'k': k::HUGEINT, 'n': n::HUGEINT}) AS ks
                FROM credit_shares GROUP BY u, tid
            ),
            lcms AS (
                SELECT u, tid, ks,
                       try(list_reduce(list_transform(ks, lambda s: s.k),
                                       lambda a, b: lcm(a, b))) AS den
                FROM shares
            ),
            sums AS (
                SELECT u, tid, ks, den,
                       CASE WHEN den < 1267650600228229401496703205376  -- 2^100
                            THEN list_sum(list_transform(ks, lambda s: s.n * (den // s.k)))
                       END AS num
                FROM lcms
            ),
            fractions AS (
                SELECT u, tid, ks, num // gcd(num, den) AS num, den // gcd(num, den) AS den
                FROM sums
            )
            SELECT u, tid,
                   CASE WHEN num IS NULL
                            THEN list_reduce(list_transform(list_sort(ks),
                                                            lambda s: s.n::DOUBLE / s.k::DOUBLE),
                                             lambda a, b: a + b)
                        WHEN num < 9007199254740992 AND den < 9007199254740992  -- 2^53
                            THEN num::DOUBLE / den::DOUBLE
                        -- HUGEINT::DOUBLE rounds twice; via text it rounds once, as u128 as f64
                        ELSE (num // den)::VARCHAR::DOUBLE
                             + (num % den)::VARCHAR::DOUBLE / den::VARCHAR::DOUBLE
                   END AS credit
            FROM fractions
            """
        )
        con.execute("DROP TABLE credit_shares")
    con.execute(
        """
        CREATE TEMP TABLE user_topics AS
        SELECT a.u AS user_id, a.tid, a.day AS adopted,
               coalesce(c.reach, 0)::BIGINT AS reach,
               coalesce(c.persuaded, 0)::BIGINT AS persuaded,
               coalesce(r.credit, 0.0)::DOUBLE AS credit,
               coalesce(k.k, 0)::BIGINT AS k
        FROM adoptions a
        LEFT JOIN counts c ON c.u = a.u AND c.tid = a.tid
        LEFT JOIN credits r ON r.u = a.u AND r.tid = a.tid
        LEFT JOIN persuaders k ON k.v = a.u AND k.tid = a.tid
        """
    )
    for table in ("counts", "persuasions", "persuaders", "credits"):
        con.execute(f"DROP TABLE {table}")
    stage("metrics_s")

    # 5. Leaders, users, tiers.
    con.execute(
        f"""
        CREATE TEMP TABLE leaders AS
        SELECT tid,
               row_number() OVER (PARTITION BY tid
                                  ORDER BY credit DESC, persuaded DESC, user_id ASC) AS rank,
               user_id, credit, persuaded, reach
        FROM user_topics
        WHERE credit > 0
        QUALIFY rank <= {K}
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE users AS
        WITH everyone AS (
            SELECT user_id FROM friend_counts
            UNION
            SELECT u AS user_id FROM adoptions
        ),
        per_user AS (
            SELECT user_id,
                   fsum(credit) AS influence,
                   sum(persuaded)::BIGINT AS persuaded_total,
                   -- largest credit, then the smallest id = the first name
                   arg_max(tid, (credit, -tid)) FILTER (WHERE credit > 0) AS top_tid
            FROM user_topics GROUP BY user_id
        ),
        leader_ids AS (SELECT DISTINCT user_id FROM leaders)
        SELECT e.user_id,
               coalesce(f.friend_count, 0)::BIGINT AS friend_count,
               coalesce(p.influence, 0.0)::DOUBLE AS influence,
               coalesce(p.persuaded_total, 0)::BIGINT AS persuaded_total,
               p.top_tid,
               CASE WHEN coalesce(f.friend_count, 0) >= {SUPER_CONNECTOR_MIN} THEN 'super-connector'
                    WHEN l.user_id IS NOT NULL THEN 'topical-influencer'
                    WHEN coalesce(f.friend_count, 0) >= {CONNECTOR_MIN} THEN 'connector'
                    ELSE 'standard' END AS tier
        FROM everyone e
        LEFT JOIN friend_counts f USING (user_id)
        LEFT JOIN per_user p USING (user_id)
        LEFT JOIN leader_ids l USING (user_id)
        """
    )
    stage("leaders_users_s")

    # 6. Write every table.
    def copy(query: str, name: str) -> None:
        path = os.path.join(args.out_dir, name)
        con.execute(f"COPY ({query}) TO {sql_path(path)} (HEADER, DELIMITER ',')")

    copy(
        f"""
        SELECT u.user_id, u.friend_count,
               u.friend_count >= {SUPER_CONNECTOR_MIN} AS super_connector,
               u.influence, u.persuaded_total, n.topic AS top_topic, u.tier
        FROM users u LEFT JOIN topic_names n ON n.tid = u.top_tid
        ORDER BY u.user_id
        """,
        "users.csv",
    )
    copy(
        """
        SELECT t.user_id, n.topic, t.adopted, t.reach, t.persuaded, t.credit
        FROM user_topics t JOIN topic_names n USING (tid)
        ORDER BY t.user_id, n.topic
        """,
        "user_topics.csv",
    )
    copy(
        """
        SELECT n.topic, l.rank, l.user_id, l.credit, l.persuaded, l.reach
        FROM leaders l JOIN topic_names n USING (tid)
        ORDER BY n.topic, l.rank
        """,
        "topic_leaders.csv",
    )
    copy(
        """
        SELECT friend_count, count(*)::BIGINT AS users
        FROM friend_counts GROUP BY friend_count ORDER BY friend_count
        """,
        "degree_distribution.csv",
    )
    copy(
        """
        SELECT n.topic, count(*)::BIGINT AS adopters,
               (count(*) FILTER (WHERE t.k >= 1))::BIGINT AS socially_explained
        FROM user_topics t JOIN topic_names n USING (tid)
        GROUP BY n.topic ORDER BY n.topic
        """,
        "topics.csv",
    )
    stage("write_s")

    counts = con.execute(
        """
        SELECT (SELECT count(*) FROM users),
               (SELECT count(*) FROM user_topics),
               (SELECT count(*) FROM topic_names),
               (SELECT count(*) FROM leaders)
        """
    ).fetchone()
    print(
        json.dumps(
            {
                "duckdb_version": duckdb.__version__,
                "threads": args.threads,
                "window_days": W,
                "top_k": K,
                "credit": "float" if args.float_credit else "exact",
                "friendships": friendships,
                "users": counts[0],
                "adoptions": counts[1],
                "topics": counts[2],
                "topic_leaders": counts[3],
                **stages,
                "total_s": round(t[-1] - t[0], 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
