#!/usr/bin/env python3
"""The friendships-only batch job of `reach run`, in DuckDB SQL: a yardstick.

Usage:
    python3 benches/duckdb_batch.py FRIENDSHIPS_CSV OUT_DIR [--threads 2] [--memory-limit 20GB]

Needs the `duckdb` Python package (`pip install duckdb`); benches/batch.sh
installs it into a venv under target/bench-venv when it is missing.

Same semantics as `reach run --friendships FILE` (no topical data):
  * the graph is undirected and simple: `a,b` and `b,a` are one friendship,
    repeated lines are one friendship, self-loops are dropped;
  * friend_count(u) = number of distinct friends of u (users with >= 1 friend);
  * super_connector = friend_count >= 1000;
  * tier = 'super-connector' (>= 1000), 'connector' (>= 101), else 'standard';
  * influence 0.0, persuaded_total 0, top_topic empty.

Writes OUT_DIR/users.csv (user_id,friend_count,super_connector,influence,
persuaded_total,top_topic,tier; sorted by user_id) and
OUT_DIR/degree_distribution.csv (friend_count,users; sorted), and prints
one JSON line of counts and per-stage seconds on stdout.

Input: a CSV with a header `src,dst` (what `reach generate` writes). The
database is in memory: the measured peak RSS is what the query needs.
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
    parser.add_argument("out_dir", help="directory for users.csv and degree_distribution.csv")
    add_connection_args(parser)
    args = parser.parse_args()

    if not os.path.isfile(args.friendships):
        sys.exit(f"duckdb_batch.py: no such file: {args.friendships}")
    os.makedirs(args.out_dir, exist_ok=True)

    con = connect(args)

    stages = {}
    t0 = time.perf_counter()

    # 1. Load + normalise + drop self-loops + DISTINCT: each friendship once, (least, greatest).
    load_friendships(con, args.friendships)
    t1 = time.perf_counter()
    stages["load_dedupe_s"] = round(t1 - t0, 3)

    # 2. Both directions, GROUP BY user: friend counts.
    con.execute(
        """
        CREATE TEMP TABLE counts AS
        SELECT u AS user_id, count(*)::BIGINT AS friend_count
        FROM (SELECT a AS u FROM friendships UNION ALL SELECT b AS u FROM friendships)
        GROUP BY u
        """
    )
    t2 = time.perf_counter()
    stages["group_by_s"] = round(t2 - t1, 3)

    # 3. Write the two tables.
    users_csv = os.path.join(args.out_dir, "users.csv")
    degrees_csv = os.path.join(args.out_dir, "degree_distribution.csv")
    con.execute(
        f"""
        COPY (
            SELECT user_id,
                   friend_count,
                   friend_count >= {SUPER_CONNECTOR_MIN} AS super_connector,
                   0.0::DOUBLE AS influence,
                   0::BIGINT AS persuaded_total,
                   NULL::VARCHAR AS top_topic,
                   CASE WHEN friend_count >= {SUPER_CONNECTOR_MIN} THEN 'super-connector'
                        WHEN friend_count >= {CONNECTOR_MIN} THEN 'connector'
                        ELSE 'standard' END AS tier
            FROM counts
            ORDER BY user_id
        ) TO {sql_path(users_csv)} (HEADER, DELIMITER ',')
        """
    )
    con.execute(
        f"""
        COPY (
            SELECT friend_count, count(*)::BIGINT AS users
            FROM counts GROUP BY friend_count ORDER BY friend_count
        ) TO {sql_path(degrees_csv)} (HEADER, DELIMITER ',')
        """
    )
    t3 = time.perf_counter()
    stages["write_s"] = round(t3 - t2, 3)

    friendships = con.execute("SELECT count(*) FROM friendships").fetchone()[0]
    users = con.execute("SELECT count(*) FROM counts").fetchone()[0]
    print(
        json.dumps(
            {
                "duckdb_version": duckdb.__version__,
                "threads": args.threads,
                "friendships": friendships,
                "users": users,
                **stages,
                "total_s": round(t3 - t0, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
