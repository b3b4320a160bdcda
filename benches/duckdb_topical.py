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

from duckdb_common import add_connection_args, build_social, connect, write_social

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

    # 1-5. Friendships, adoptions, co-adoptions, metrics, leaders and users.
    friendships = build_social(
        con, args.friendships, args.adoptions, window=W, top_k=K,
        float_credit=args.float_credit, stage=stage,
    )

    # 6. Write every table.
    write_social(con, args.out_dir)
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
