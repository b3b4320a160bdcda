#!/usr/bin/env python3
"""The customer tables of `reach run` (customers, value_matrix, benchmark), in DuckDB SQL: a yardstick.

Usage:
    python3 benches/duckdb_customers.py FRIENDSHIPS ADOPTIONS IDENTITIES PURCHASES OUT_DIR
        [--threads 2] [--memory-limit 20GB] [--window 60] [--top-k 100]
        [--super-connector-min 1000] [--connector-min 101] [--check REACH_OUT]
    python3 benches/duckdb_customers.py --compare SQL_OUT --check REACH_OUT

Needs the `duckdb` Python package (`pip install duckdb`); benches/customers.sh
installs it into a venv under target/bench-venv when it is missing.

The section "Customers" of METRICS.md, written as SQL beside the users' side
(duckdb_common.build_social, the plan of duckdb_topical.py):
  * A(c): c's accounts that are users (a friendship or an adoption);
    accounts(c) = |A(c)|; identities lines repeated are one mapping (an
    account with two different customers is refused, as reach refuses it);
  * friend_count(c) = |(union of N(a), a in A(c)) minus A(c)|: for a customer
    with one account, that account's friend count (no self-loops); for
    several, DISTINCT over their friends without the customer's own;
  * influence(c), persuaded_total(c): sums over A(c); tier(c): the users'
    rule on friend_count(c), topical-influencer when an account leads a topic;
  * last_purchase, frequency, monetary (DECIMAL(38,4), exact); RFM scores
    over the customers with purchases: cut point q_i = the value at 1-based
    rank ceil(i*n/5) of the ascending values, score = 1 + #{i : x > q_i};
    the segment table's first row that holds, `Others`, `No purchases`;
  * influenced_revenue(c) = sum over persuasions u -> v of t (u in A(c)) of
    revenue(v,t) / k(v,t), revenue(v,t) = cust(v)'s purchases of t on or
    after a(v,t); summed exactly per (c, k) as decimals, then divided;
  * value_matrix and benchmark as METRICS.md's tables say.

Writes OUT_DIR/customers.csv (by customer_id), value_matrix.csv and
benchmark.csv (in reach's row order), and the users' tables (users.csv,
user_topics.csv, ... as duckdb_topical.py does, so that the run does what
reach's run does); prints one JSON line of counts and per-stage seconds
(`customers_s` is the sum of the customer stages) on stdout.

--check REACH_OUT compares the three tables with reach's output directory
(REACH_OUT/customers/part-*.csv, ...): on each table's key, integers, text,
dates and monetary exactly, the other decimals within 1e-9 relative, rows on
one side only, and the row order of value_matrix and benchmark. It prints
the first differences and exits 1 when there is one. With --compare SQL_OUT
instead of the inputs, it computes nothing: it compares the tables an
earlier run wrote into SQL_OUT (so that a timed run need not include the
check).

Inputs: CSVs with a header, comma-separated, as `reach generate --customers`
writes them: friendships `src,dst`, adoptions `user,topic,day`, identities
`account,customer`, purchases `customer,day,amount[,topic]` (a purchase
without topic has 3 fields or an empty 4th); days are ISO dates; user ids
are integers.
"""

import argparse
import csv
import glob
import json
import os
import sys
import time

from duckdb_common import (
    CONNECTOR_MIN,
    SUPER_CONNECTOR_MIN,
    add_connection_args,
    build_social,
    connect,
    copy_to_csv,
    sql_path,
    write_social,
)

import duckdb  # after duckdb_common, which says how to install it

TIERS = ["super-connector", "topical-influencer", "connector", "standard"]
# METRICS.md's segment table: (name, r range, f range, m range), first row that holds.
SEGMENTS = [
    ("Champions", (5, 5), (5, 5), (5, 5)),
    ("Potential Loyalist", (3, 5), (3, 5), (2, 5)),
    ("Loyal Customers", (2, 4), (2, 4), (2, 4)),
    ("Promising", (3, 4), (1, 3), (3, 5)),
    ("New Customers", (4, 5), (1, 3), (1, 5)),
    ("Can't Lose Them", (1, 2), (3, 4), (4, 5)),
    ("At Risk", (1, 2), (2, 5), (4, 5)),
    ("Need Attention", (1, 3), (3, 5), (3, 5)),
    ("About To Sleep", (2, 3), (1, 3), (1, 4)),
    ("Lost", (1, 1), (1, 5), (1, 5)),
]
SEGMENT_ORDER = [s[0] for s in SEGMENTS] + ["Others", "No purchases"]


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def order_case(column: str, names) -> str:
    """A CASE giving each name its position (the tables' row order)."""
    whens = " ".join(f"WHEN {quote(n)} THEN {i}" for i, n in enumerate(names))
    return f"CASE {column} {whens} END"


def segment_case() -> str:
    """rfm_segment from r_score, f_score, m_score."""
    whens = []
    for name, (r0, r1), (f0, f1), (m0, m1) in SEGMENTS:
        whens.append(
            f"WHEN r_score BETWEEN {r0} AND {r1} AND f_score BETWEEN {f0} AND {f1} "
            f"AND m_score BETWEEN {m0} AND {m1} THEN {quote(name)}"
        )
    return "CASE WHEN r_score IS NULL THEN 'No purchases' " + " ".join(whens) + " ELSE 'Others' END"


def load_customer_inputs(con, identities: str, purchases: str) -> None:
    """TEMP TABLEs identities(account, customer) (distinct) and
    purchases(customer, day, amount, topic) (topic NULL when absent)."""
    con.execute(
        f"""
        CREATE TEMP TABLE identities AS
        SELECT DISTINCT account, customer
        FROM read_csv({sql_path(identities)}, header = true, delim = ',',
                      quote = '"', escape = '"', auto_detect = false,
                      columns = {{'account': 'UBIGINT', 'customer': 'VARCHAR'}})
        """
    )
    clash = con.execute(
        "SELECT account, list(customer ORDER BY customer) FROM identities "
        "GROUP BY account HAVING count(*) > 1 ORDER BY account LIMIT 1"
    ).fetchone()
    if clash:
        sys.exit(f"duckdb_customers.py: {identities}: account {clash[0]} has two customers: {clash[1]}")
    con.execute(
        f"""
        CREATE TEMP TABLE purchases AS
        SELECT customer, day, amount, nullif(topic, '') AS topic
        FROM read_csv({sql_path(purchases)}, header = true, delim = ',',
                      quote = '"', escape = '"', auto_detect = false, null_padding = true,
                      columns = {{'customer': 'VARCHAR', 'day': 'DATE',
                                  'amount': 'DECIMAL(38,4)', 'topic': 'VARCHAR'}})
        """
    )


def build_customers(con, *, super_min: int, connector_min: int, stage) -> None:
    """TEMP TABLEs customers, value_matrix and benchmark from build_social's
    tables (with persuasions and persuaders kept) and the customer inputs."""
    # Accounts: identities of users, one customer each.
    con.execute(
        """
        CREATE TEMP TABLE accounts AS
        SELECT i.account AS user_id, i.customer
        FROM identities i JOIN users u ON u.user_id = i.account
        """
    )
    # Per customer with accounts: counts, sums, leader flag, friend_count.
    con.execute(
        """
        CREATE TEMP TABLE social AS
        WITH leader_ids AS (SELECT DISTINCT user_id FROM leaders),
        per_customer AS (
            SELECT a.customer, count(*)::BIGINT AS accounts,
                   fsum(u.influence)::DOUBLE AS influence,
                   sum(u.persuaded_total)::BIGINT AS persuaded_total,
                   bool_or(l.user_id IS NOT NULL) AS leads,
                   -- one account: its friend count (no self-loops, so no own account among its friends)
                   max(u.friend_count)::BIGINT AS single_friend_count
            FROM accounts a
            JOIN users u USING (user_id)
            LEFT JOIN leader_ids l USING (user_id)
            GROUP BY a.customer
        ),
        multi AS (
            -- several accounts: distinct friends of any, the customer's own not counted
            SELECT a.customer, count(DISTINCT e.v)::BIGINT AS friend_count
            FROM accounts a
            JOIN per_customer p ON p.customer = a.customer AND p.accounts > 1
            JOIN directed e ON e.u = a.user_id
            LEFT JOIN accounts own ON own.user_id = e.v
            WHERE own.customer IS DISTINCT FROM a.customer
            GROUP BY a.customer
        )
        SELECT p.customer, p.accounts, p.influence, p.persuaded_total, p.leads,
               CASE WHEN p.accounts = 1 THEN p.single_friend_count
                    ELSE coalesce(m.friend_count, 0) END AS friend_count
        FROM per_customer p LEFT JOIN multi m USING (customer)
        """
    )
    stage("customers_social_s")

    # Purchases per customer, and the RFM cut points over the buyers.
    con.execute(
        """
        CREATE TEMP TABLE spend AS
        SELECT customer, max(day) AS last_purchase, count(*)::BIGINT AS frequency,
               sum(amount)::DECIMAL(38,4) AS monetary
        FROM purchases GROUP BY customer
        """
    )
    cut = lambda m, i: f"{m}[({i} * n + 4) // 5]"  # noqa: E731 - rank ceil(i*n/5), 1-based
    con.execute(
        f"""
        CREATE TEMP TABLE cuts AS
        SELECT {", ".join(f"{cut(m, i)} AS {m[0]}{i}" for m in ("rs", "fs", "ms") for i in range(1, 5))}
        FROM (SELECT count(*) AS n,
                     list_sort(list(last_purchase)) AS rs,
                     list_sort(list(frequency)) AS fs,
                     list_sort(list(monetary)) AS ms
              FROM spend)
        """
    )
    score = lambda col, p: "1 + " + " + ".join(f"({col} > {p}{i})::INTEGER" for i in range(1, 5))  # noqa: E731
    con.execute(
        f"""
        CREATE TEMP TABLE rfm AS
        SELECT customer, last_purchase, frequency, monetary,
               {score("last_purchase", "r")} AS r_score,
               {score("frequency", "f")} AS f_score,
               {score("monetary", "m")} AS m_score
        FROM spend CROSS JOIN cuts
        """
    )
    stage("customers_rfm_s")

    # Influenced revenue: revenue(v,t) of the persuaded adoptions whose
    # account has a customer, handed to the persuaders' customers, 1/k each.
    con.execute(
        """
        CREATE TEMP TABLE revenue AS
        SELECT k.v, k.tid, k.k, sum(p.amount)::DECIMAL(38,4) AS revenue
        FROM persuaders k
        JOIN accounts a ON a.user_id = k.v
        JOIN adoptions d ON d.u = k.v AND d.tid = k.tid
        JOIN topic_names n ON n.tid = k.tid
        JOIN purchases p ON p.customer = a.customer AND p.topic = n.topic AND p.day >= d.day
        GROUP BY k.v, k.tid, k.k
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE influenced AS
        SELECT customer, fsum(revenue::DOUBLE / k)::DOUBLE AS influenced_revenue
        FROM (SELECT a.customer, r.k, sum(r.revenue)::DECIMAL(38,4) AS revenue
              FROM persuasions s
              JOIN revenue r ON r.v = s.v AND r.tid = s.tid
              JOIN accounts a ON a.user_id = s.u
              GROUP BY a.customer, r.k)
        GROUP BY customer
        """
    )
    stage("customers_influenced_s")

    con.execute(
        f"""
        CREATE TEMP TABLE customers AS
        WITH everyone AS (SELECT customer FROM social UNION SELECT customer FROM spend),
        joined AS (
            SELECT e.customer AS customer_id,
                   coalesce(s.accounts, 0)::BIGINT AS accounts,
                   coalesce(s.friend_count, 0)::BIGINT AS friend_count,
                   coalesce(s.influence, 0.0)::DOUBLE AS influence,
                   coalesce(s.persuaded_total, 0)::BIGINT AS persuaded_total,
                   coalesce(s.leads, false) AS leads,
                   r.last_purchase,
                   coalesce(r.frequency, 0)::BIGINT AS frequency,
                   coalesce(r.monetary, 0)::DECIMAL(38,4) AS monetary,
                   r.r_score, r.f_score, r.m_score,
                   coalesce(i.influenced_revenue, 0.0)::DOUBLE AS influenced_revenue
            FROM everyone e
            LEFT JOIN social s USING (customer)
            LEFT JOIN rfm r USING (customer)
            LEFT JOIN influenced i USING (customer)
        )
        SELECT customer_id, accounts, friend_count, friend_count >= {super_min} AS super_connector,
               influence, persuaded_total,
               CASE WHEN friend_count >= {super_min} THEN 'super-connector'
                    WHEN leads THEN 'topical-influencer'
                    WHEN friend_count >= {connector_min} THEN 'connector'
                    ELSE 'standard' END AS tier,
               last_purchase, frequency, monetary, r_score, f_score, m_score,
               {segment_case()} AS rfm_segment,
               influenced_revenue,
               monetary::DOUBLE + influenced_revenue AS total_value
        FROM joined
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE value_matrix AS
        SELECT rfm_segment, tier, count(*)::BIGINT AS customers,
               sum(monetary)::DECIMAL(38,4) AS monetary,
               fsum(influenced_revenue)::DOUBLE AS influenced_revenue,
               {order_case("rfm_segment", SEGMENT_ORDER)} AS segment_order,
               {order_case("tier", TIERS)} AS tier_order
        FROM customers GROUP BY rfm_segment, tier
        """
    )
    groups = [("all", "true"), ("social", "accounts >= 1"), ("not-social", "accounts = 0")]
    groups += [(f"tier:{t}", f"accounts >= 1 AND tier = {quote(t)}") for t in TIERS]
    per_group = " UNION ALL ".join(
        f"""SELECT {i} AS ord, {quote(g)} AS "group",
                   (count(*) FILTER (WHERE {cond}))::BIGINT AS customers,
                   (count(*) FILTER (WHERE {cond} AND frequency > 0))::BIGINT AS buyers,
                   coalesce(sum(monetary) FILTER (WHERE {cond}), 0)::DECIMAL(38,4) AS monetary,
                   coalesce(sum(frequency) FILTER (WHERE {cond}), 0)::BIGINT AS purchases
            FROM customers"""
        for i, (g, cond) in enumerate(groups)
    )
    con.execute(
        f"""
        CREATE TEMP TABLE benchmark AS
        WITH g AS ({per_group}),
        m AS (SELECT ord, "group", customers, buyers, monetary,
                     CASE WHEN customers > 0 THEN monetary::DOUBLE / customers END AS mean_monetary,
                     CASE WHEN customers > 0 THEN purchases::DOUBLE / customers END AS mean_frequency
              FROM g WHERE ord < 3 OR customers > 0)
        SELECT m.ord, m."group", m.customers, m.buyers, m.monetary, m.mean_monetary, m.mean_frequency,
               CASE WHEN a.mean_monetary > 0 THEN m.mean_monetary / a.mean_monetary END AS lift
        FROM m CROSS JOIN (SELECT mean_monetary FROM m WHERE ord = 0) a
        """
    )
    stage("customers_tables_s")


def write_customers(con, out_dir: str) -> None:
    """customers.csv (by customer_id), value_matrix.csv and benchmark.csv (reach's row order)."""
    copy_to_csv(con, "SELECT * FROM customers ORDER BY customer_id", os.path.join(out_dir, "customers.csv"))
    copy_to_csv(
        con,
        "SELECT * EXCLUDE (segment_order, tier_order) FROM value_matrix ORDER BY segment_order, tier_order",
        os.path.join(out_dir, "value_matrix.csv"),
    )
    copy_to_csv(con, "SELECT * EXCLUDE (ord) FROM benchmark ORDER BY ord", os.path.join(out_dir, "benchmark.csv"))


# The tables as reach writes them: (column, type); the first `key` columns are the key.
REACH_TABLES = {
    "customers": (1, [("customer_id", "VARCHAR"), ("accounts", "BIGINT"), ("friend_count", "BIGINT"),
                      ("super_connector", "BOOLEAN"), ("influence", "DOUBLE"), ("persuaded_total", "BIGINT"),
                      ("tier", "VARCHAR"), ("last_purchase", "DATE"), ("frequency", "BIGINT"),
                      ("monetary", "DECIMAL(38,4)"), ("r_score", "INTEGER"), ("f_score", "INTEGER"),
                      ("m_score", "INTEGER"), ("rfm_segment", "VARCHAR"), ("influenced_revenue", "DOUBLE"),
                      ("total_value", "DOUBLE")]),
    "value_matrix": (2, [("rfm_segment", "VARCHAR"), ("tier", "VARCHAR"), ("customers", "BIGINT"),
                         ("monetary", "DECIMAL(38,4)"), ("influenced_revenue", "DOUBLE")]),
    "benchmark": (1, [("group", "VARCHAR"), ("customers", "BIGINT"), ("buyers", "BIGINT"),
                      ("monetary", "DECIMAL(38,4)"), ("mean_monetary", "DOUBLE"), ("mean_frequency", "DOUBLE"),
                      ("lift", "DOUBLE")]),
}


def read_table(files, cols) -> str:
    """A read_csv of files (a list of paths) with the columns typed."""
    spec = ", ".join(f"{quote(c)}: {quote(t)}" for c, t in cols)
    paths = "[" + ", ".join(sql_path(p) for p in files) + "]"
    return (f"read_csv({paths}, header = true, delim = ',', quote = '\"', escape = '\"', "
            f"auto_detect = false, columns = {{{spec}}})")


def load_written(con, sql_out: str) -> None:
    """TEMP TABLEs customers, value_matrix and benchmark from the CSVs a run wrote
    into sql_out, with the order columns that build_customers gives them."""
    for table, (_, cols) in REACH_TABLES.items():
        path = os.path.join(sql_out, f"{table}.csv")
        if not os.path.isfile(path):
            sys.exit(f"duckdb_customers.py: --compare: no {path}")
        extra = ""
        if table == "value_matrix":
            extra = f", {order_case('rfm_segment', SEGMENT_ORDER)} AS segment_order, {order_case('tier', TIERS)} AS tier_order"
        elif table == "benchmark":
            names = ["all", "social", "not-social"] + [f"tier:{t}" for t in TIERS]
            extra = f", {order_case(chr(34) + 'group' + chr(34), names)} AS ord"
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT *{extra} FROM {read_table([path], cols)}")


def reach_parts(reach_out: str, table: str):
    """reach's part files of a table, in name order."""
    parts = sorted(glob.glob(os.path.join(reach_out, table, "part-*.csv")))
    if not parts:
        sys.exit(f"duckdb_customers.py: --check: no {table}/part-*.csv in {reach_out} "
                 "(was reach run with --identities and --purchases, CSV output?)")
    return parts


def check(con, reach_out: str, limit: int = 5) -> dict:
    """Compares the SQL tables with reach's; returns {table: {rows, column: mismatches}}
    and prints the first differences on stderr."""
    result = {}
    for table, (nkey, cols) in REACH_TABLES.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE reach_{table} AS "
                    f"SELECT * FROM {read_table(reach_parts(reach_out, table), cols)}")
        key = [f'"{c}"' for c, _ in cols[:nkey]]
        conds = {"only_in_reach": f"d.{key[0]} IS NULL", "only_in_sql": f"r.{key[0]} IS NULL"}
        for c, t in cols[nkey:]:
            c = f'"{c}"'
            if t == "DOUBLE":  # decimals that divide: 1e-9 relative
                conds[c.strip('"')] = (f"(r.{c} IS NULL) <> (d.{c} IS NULL) OR "
                                       f"abs(r.{c} - d.{c}) > 1e-9 * greatest(abs(r.{c}), abs(d.{c}))")
            else:  # integers, text, dates, booleans, monetary: exactly
                conds[c.strip('"')] = f"r.{c} IS DISTINCT FROM d.{c}"
        both = f"r.{key[0]} IS NOT NULL AND d.{key[0]} IS NOT NULL"
        on = " AND ".join(f"r.{k} = d.{k}" for k in key)
        frm = f"FROM reach_{table} r FULL OUTER JOIN {table} d ON {on}"
        filters = [conds["only_in_reach"], conds["only_in_sql"]] + [
            f"{both} AND ({x})" for n, x in conds.items() if not n.startswith("only_in")]
        row = con.execute("SELECT count(*), " + ", ".join(f"count(*) FILTER (WHERE {f})" for f in filters)
                          + f" {frm}").fetchone()
        counts = dict(zip(["rows", *conds], row))
        for (name, _), f in zip(conds.items(), filters):
            if counts[name]:
                shown = ", ".join(f"coalesce(r.{k}, d.{k})" for k in key)
                col = "" if name.startswith("only_in") else f', r."{name}", d."{name}"'
                print(f"{table}.{name}: {counts[name]} differ; first ({', '.join(k.strip(chr(34)) for k in key)}"
                      f"{'' if not col else ', reach, sql'}):", file=sys.stderr)
                for r in con.execute(f"SELECT {shown}{col} {frm} WHERE {f} ORDER BY {shown} LIMIT {limit}").fetchall():
                    print("   ", r, file=sys.stderr)
        if table != "customers":  # rows in a defined order: compare the key sequences
            ours = [tuple(r) for r in con.execute(
                f"SELECT {', '.join(key)} FROM {table} ORDER BY "
                + ("segment_order, tier_order" if table == "value_matrix" else "ord")).fetchall()]
            theirs = []
            for part in reach_parts(reach_out, table):
                with open(part, newline="", encoding="utf-8") as f:
                    theirs += [tuple(r[:nkey]) for r in list(csv.reader(f))[1:]]
            counts["row_order"] = int(ours != theirs)
            if ours != theirs:
                print(f"{table}: row order differs: reach {theirs[:8]}... sql {ours[:8]}...", file=sys.stderr)
        result[table] = counts
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="*", metavar="FRIENDSHIPS ADOPTIONS IDENTITIES PURCHASES OUT_DIR",
                        help="CSVs with headers src,dst / user,topic,day / account,customer / "
                             "customer,day,amount,topic, and the directory for the CSV tables")
    add_connection_args(parser)
    parser.add_argument("--window", type=int, default=60, help="window_days W (default 60)")
    parser.add_argument("--top-k", type=int, default=100, help="leaders per topic K (default 100)")
    parser.add_argument("--super-connector-min", type=int, default=SUPER_CONNECTOR_MIN,
                        help=f"T (default {SUPER_CONNECTOR_MIN})")
    parser.add_argument("--connector-min", type=int, default=CONNECTOR_MIN, help=f"C (default {CONNECTOR_MIN})")
    parser.add_argument("--check", metavar="REACH_OUT",
                        help="compare the customer tables with this reach output directory; exit 1 on a difference")
    parser.add_argument("--compare", metavar="SQL_OUT",
                        help="compute nothing: compare the tables an earlier run wrote into SQL_OUT (needs --check)")
    args = parser.parse_args()

    if args.compare:
        if args.inputs or not args.check:
            parser.error("--compare SQL_OUT takes no inputs and needs --check REACH_OUT")
        con = connect(args)
        load_written(con, args.compare)
        result = check(con, args.check)
        failed = any(v for table in result.values() for k, v in table.items() if k != "rows")
        print(json.dumps({"check": result, "check_ok": not failed}))
        return 1 if failed else 0
    if len(args.inputs) != 5:
        parser.error("give FRIENDSHIPS ADOPTIONS IDENTITIES PURCHASES OUT_DIR (or --compare SQL_OUT --check REACH_OUT)")
    args.friendships, args.adoptions, args.identities, args.purchases, args.out_dir = args.inputs
    for path in (args.friendships, args.adoptions, args.identities, args.purchases):
        if not os.path.isfile(path):
            sys.exit(f"duckdb_customers.py: no such file: {path}")
    if args.window < 1 or args.top_k < 1:
        sys.exit("duckdb_customers.py: --window and --top-k must be >= 1")
    os.makedirs(args.out_dir, exist_ok=True)
    T, C = int(args.super_connector_min), int(args.connector_min)

    con = connect(args)
    stages = {}
    t = [time.perf_counter()]

    def stage(name: str) -> None:
        t.append(time.perf_counter())
        stages[name] = round(t[-1] - t[-2], 3)

    # 1-5. The users' side, keeping the persuasions for the influenced revenue.
    friendships = build_social(
        con, args.friendships, args.adoptions, window=args.window, top_k=args.top_k,
        super_min=T, connector_min=C, stage=stage, keep=("persuasions", "persuaders"),
    )
    # 6. Customer inputs, then the customer tables.
    load_customer_inputs(con, args.identities, args.purchases)
    stage("customers_load_s")
    build_customers(con, super_min=T, connector_min=C, stage=stage)
    # 7. Write every table.
    write_social(con, args.out_dir, super_min=T)
    stage("write_social_s")
    write_customers(con, args.out_dir)
    stage("customers_write_s")

    counts = con.execute(
        """
        SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM user_topics),
               (SELECT count(*) FROM accounts), (SELECT count(*) FROM customers),
               (SELECT count(*) FROM spend), (SELECT count(*) FROM purchases)
        """
    ).fetchone()
    report = {
        "duckdb_version": duckdb.__version__,
        "threads": args.threads,
        "window_days": args.window,
        "top_k": args.top_k,
        "super_connector_min": T,
        "connector_min": C,
        "friendships": friendships,
        "users": counts[0],
        "adoptions": counts[1],
        "accounts_with_customer": counts[2],
        "customers": counts[3],
        "customers_with_purchases": counts[4],
        "purchases": counts[5],
        **stages,
        "customers_s": round(sum(v for k, v in stages.items() if k.startswith("customers_")), 3),
        "total_s": round(t[-1] - t[0], 3),
    }
    failed = False
    if args.check:
        report["check"] = check(con, args.check)
        failed = any(v for table in report["check"].values() for k, v in table.items() if k != "rows")
        report["check_ok"] = not failed
    print(json.dumps(report))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
