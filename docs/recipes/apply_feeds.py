#!/usr/bin/env python3
"""Apply reach's change feeds downstream, as docs/nightly.md shows, and check.

    python3 docs/recipes/apply_feeds.py BASE NIGHTLY

BASE     the output of `reach run` WITHOUT --deltas over the base files: the
         tables before the first night.
NIGHTLY  the output of `reach serve`, or of `reach run --deltas`, over the
         same base files: its change feeds (changes/<night>/) and its final
         tables.

Loads BASE's tables into DuckDB, applies each night's feed in night order
(the order of `nights` in NIGHTLY/summary.json), every table by delete then
insert in one transaction, and `users` also by MERGE in a second database;
then compares every table with NIGHTLY's final tables. Exit 0 when all are
equal, 1 (listing the differences) when not, 2 on bad arguments. CSV outputs
only. Needs DuckDB 1.4 or newer: `pip install duckdb`.

The SQL of docs/nightly.md ("Applying a feed downstream") is in this file
verbatim (tests/recipes.rs checks it); the other tables use the same
statements with their own columns and keys.
"""

import json
import os
import sys

import duckdb

# ---------------------------------------------------------------- the doc's SQL, verbatim

USERS_TABLE = """
CREATE TABLE users (user_id BIGINT, friend_count BIGINT, super_connector BOOLEAN,
                    influence DOUBLE, persuaded_total BIGINT, top_topic VARCHAR, tier VARCHAR);
INSERT INTO users SELECT * FROM read_csv(getvariable('base') || '/users/*.csv');
"""

STAGE_USERS = """
CREATE OR REPLACE TEMP TABLE feed AS SELECT '' AS op, * FROM users LIMIT 0;
INSERT INTO feed SELECT * FROM read_csv(getvariable('night') || '/users/*.csv');
"""

APPLY_USERS = """
BEGIN;
DELETE FROM users u USING feed f
  WHERE f.op = '-' AND u.user_id = f.user_id;
INSERT INTO users
  SELECT user_id, friend_count, super_connector, influence, persuaded_total, top_topic, tier
  FROM feed WHERE op = '+';
COMMIT;
"""

MERGE_USERS = """
MERGE INTO users u
USING (
  SELECT user_id, bool_or(op = '+') AS arrives,
         max(friend_count) FILTER (WHERE op = '+') AS friend_count,
         bool_or(super_connector) FILTER (WHERE op = '+') AS super_connector,
         max(influence) FILTER (WHERE op = '+') AS influence,
         max(persuaded_total) FILTER (WHERE op = '+') AS persuaded_total,
         max(top_topic) FILTER (WHERE op = '+') AS top_topic,
         max(tier) FILTER (WHERE op = '+') AS tier
  FROM feed GROUP BY user_id
) f ON u.user_id = f.user_id
WHEN MATCHED AND NOT f.arrives THEN DELETE
WHEN MATCHED THEN UPDATE SET friend_count = f.friend_count, super_connector = f.super_connector,
     influence = f.influence, persuaded_total = f.persuaded_total, top_topic = f.top_topic, tier = f.tier
WHEN NOT MATCHED AND f.arrives THEN INSERT VALUES
     (f.user_id, f.friend_count, f.super_connector, f.influence, f.persuaded_total, f.top_topic, f.tier);
"""

ALL_NIGHTS = """
SELECT regexp_extract(filename, '/changes/([^/]+)/users/', 1) AS night, * EXCLUDE (filename)
FROM read_csv(getvariable('output') || '/changes/*/users/*.csv', filename = true)
ORDER BY night;
"""

# ---------------------------------------------------------------- the other tables

# Columns with the types a CSV reader gets (docs/jobs.md), and keys.
TABLES = {
    "users": (None, ["user_id"]),  # the doc's statements above
    "user_topics": (
        "user_id BIGINT, topic VARCHAR, adopted DATE, reach BIGINT, persuaded BIGINT, credit DOUBLE",
        ["user_id", "topic"],
    ),
    "topic_leaders": (
        "topic VARCHAR, rank BIGINT, user_id BIGINT, credit DOUBLE, persuaded BIGINT, reach BIGINT",
        ["topic", "rank"],
    ),
    "degree_distribution": ("friend_count BIGINT, users BIGINT", ["friend_count"]),
    "topics": ("topic VARCHAR, adopters BIGINT, socially_explained BIGINT", ["topic"]),
    "topic_significance": (
        "topic VARCHAR, adopters BIGINT, observed BIGINT, shuffled_mean DOUBLE, "
        "shuffled_std DOUBLE, z DOUBLE, p_value DOUBLE",
        ["topic"],
    ),
}


def create(table, columns):
    return (
        f"CREATE TABLE {table} ({columns});\n"
        f"INSERT INTO {table} SELECT * FROM read_csv(getvariable('base') || '/{table}/*.csv');\n"
    )


def stage(table):
    return (
        f"CREATE OR REPLACE TEMP TABLE feed AS SELECT '' AS op, * FROM {table} LIMIT 0;\n"
        f"INSERT INTO feed SELECT * FROM read_csv(getvariable('night') || '/{table}/*.csv');\n"
    )


def apply(table, keys):
    match = " AND ".join(f"t.{k} = f.{k}" for k in keys)
    return (
        f"BEGIN;\n"
        f"DELETE FROM {table} t USING feed f\n  WHERE f.op = '-' AND {match};\n"
        f"INSERT INTO {table} SELECT * EXCLUDE (op) FROM feed WHERE op = '+';\n"
        f"COMMIT;\n"
    )


# ---------------------------------------------------------------- running it


def fail(message, code=2):
    print(f"apply_feeds: {message}", file=sys.stderr)
    sys.exit(code)


def quoted(path):
    return "'" + path.replace("'", "''") + "'"


def nights_of(nightly):
    """The nights in the order they were applied, with their feed directories."""
    path = os.path.join(nightly, "summary.json")
    try:
        with open(path) as f:
            names = [n["name"] for n in json.load(f).get("nights", [])]
    except OSError as e:
        fail(f"{path}: {e.strerror}. Give the output of `reach serve` or `reach run --deltas`.")
    if not names:
        fail(f"{path}: no nights applied: nothing to apply.")
    feeds = []
    for name in names:
        feed = os.path.join(nightly, "changes", name)
        if not os.path.isdir(feed):
            fail(
                f"{feed}: missing; the feeds of the nights before it are gone too "
                f"(reach serve keeps the last keep_feeds). Reload the tables instead."
            )
        feeds.append((name, feed))
    return feeds


def tables_of(base, nightly):
    """The tables BASE and NIGHTLY both have, in TABLES order."""
    present = [t for t in TABLES if os.path.isdir(os.path.join(nightly, t))]
    for t in present:
        if not os.path.isdir(os.path.join(base, t)):
            fail(f"{os.path.join(base, t)}: missing; BASE must be run with the same parameters.")
        for part in os.listdir(os.path.join(nightly, t)):
            if part.endswith(".parquet"):
                fail(f"{os.path.join(nightly, t)}: Parquet; this recipe reads CSV outputs.")
    return present


def load(base, tables):
    con = duckdb.connect()
    con.execute(f"SET VARIABLE base = {quoted(base)};")
    for table in tables:
        columns, _ = TABLES[table]
        con.execute(USERS_TABLE if table == "users" else create(table, columns))
    return con


def apply_nights(con, feeds, tables, users_by_merge=False):
    for _, feed in feeds:
        con.execute(f"SET VARIABLE night = {quoted(feed)};")
        for table in tables:
            if not os.path.isdir(os.path.join(feed, table)):
                continue
            if table == "users":
                con.execute(STAGE_USERS)
                con.execute(MERGE_USERS if users_by_merge else APPLY_USERS)
            else:
                con.execute(stage(table))
                con.execute(apply(table, TABLES[table][1]))


def differences(con, nightly, table):
    """Rows in one of (applied, final) and not the other, as (side, row)."""
    con.execute(f"SET VARIABLE final = {quoted(os.path.join(nightly, table))};")
    con.execute(f"CREATE OR REPLACE TEMP TABLE final AS SELECT * FROM {table} LIMIT 0;")
    con.execute("INSERT INTO final SELECT * FROM read_csv(getvariable('final') || '/*.csv');")
    rows = con.execute(
        f"(SELECT 'applied only' AS side, * FROM (SELECT * FROM {table} EXCEPT ALL SELECT * FROM final))\n"
        f"UNION ALL\n"
        f"(SELECT 'final only' AS side, * FROM (SELECT * FROM final EXCEPT ALL SELECT * FROM {table}))\n"
        f"ORDER BY ALL"
    ).fetchall()
    count = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return rows, count


def check_night_order(nightly, feeds):
    """The doc's all-nights reader gives the same nights in the same order."""
    con = duckdb.connect()
    con.execute(f"SET VARIABLE output = {quoted(nightly)};")
    seen = []
    for (night, *_rest) in con.execute(ALL_NIGHTS).fetchall():
        if not seen or seen[-1] != night:
            seen.append(night)
    with_rows = [name for name, _ in feeds if name in seen]
    if seen != with_rows:
        fail(f"the nights read in one glob ({seen}) are not those applied ({with_rows})", 1)


def main(argv):
    if len(argv) != 3 or argv[1].startswith("-"):
        fail("usage: " + __doc__.strip().splitlines()[2].strip() + "   (see the top of this file)")
    base, nightly = argv[1], argv[2]
    for path in (base, nightly):
        if not os.path.isfile(os.path.join(path, "_SUCCESS")):
            fail(f"{path}: not a published reach output (no _SUCCESS).")
    if os.path.isdir(os.path.join(base, "changes")):
        fail(f"{base}: has change feeds, so its tables are after its nights: not a base. "
             f"Give a `reach run` without --deltas.")
    feeds = nights_of(nightly)
    tables = tables_of(base, nightly)
    check_night_order(nightly, feeds)

    bad = 0
    runs = [("delete+insert", False)] + ([("MERGE", True)] if "users" in tables else [])
    for how, merge in runs:
        con = load(base, tables if not merge else ["users"])
        apply_nights(con, feeds, tables if not merge else ["users"], users_by_merge=merge)
        for table in tables if not merge else ["users"]:
            rows, count = differences(con, nightly, table)
            if rows:
                bad += 1
                print(f"{table} ({how}): {len(rows)} rows differ from {nightly}/{table}:")
                for row in rows[:10]:
                    print("  ", row)
            else:
                print(f"{table} ({how}): {count} rows, equal to {nightly}/{table}")
    names = ", ".join(name for name, _ in feeds)
    if bad:
        print(f"apply_feeds: {bad} table(s) differ after applying {names}")
        return 1
    print(f"apply_feeds: base + {len(feeds)} nights ({names}) = the final tables")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
