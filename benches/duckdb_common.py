"""What the DuckDB yardsticks share: the parameters' defaults, a connection
set up like every benchmark run, the friendships loaded as a set (each
friendship once as (least, greatest), self-loops dropped), as METRICS.md
defines the simple undirected graph, and the users' side of METRICS.md as
SQL (build_social: friend counts to credit, leaders and tiers; write_social:
its tables as CSV), which duckdb_topical.py and duckdb_customers.py share."""

import os
import sys

try:
    import duckdb
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit(f"{os.path.basename(sys.argv[0])}: the duckdb package is missing: pip install duckdb")

SUPER_CONNECTOR_MIN = 1000
CONNECTOR_MIN = 101


def sql_path(path: str) -> str:
    """A path as a SQL string literal."""
    return "'" + os.path.abspath(path).replace("'", "''") + "'"


def add_connection_args(parser) -> None:
    """The --threads and --memory-limit flags."""
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2)")
    parser.add_argument(
        "--memory-limit",
        default=None,
        help="DuckDB memory_limit, e.g. 8GB (default: DuckDB's own, 80%% of RAM)",
    )


def connect(args):
    """An in-memory database with the flags' threads and memory limit."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(args.threads)}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
    # Output order is given by ORDER BY; input order does not matter.
    con.execute("SET preserve_insertion_order = false")
    return con


def load_friendships(con, path: str) -> None:
    """TEMP TABLE friendships(a, b): each friendship once, a < b."""
    con.execute(
        f"""
        CREATE TEMP TABLE friendships AS
        SELECT DISTINCT least(src, dst) AS a, greatest(src, dst) AS b
        FROM read_csv({sql_path(path)},
                      header = true, delim = ',',
                      columns = {{'src': 'UBIGINT', 'dst': 'UBIGINT'}})
        WHERE src <> dst
        """
    )


def build_social(con, friendships_path: str, adoptions_path: str, *, window: int, top_k: int,
                 super_min: int = SUPER_CONNECTOR_MIN, connector_min: int = CONNECTOR_MIN,
                 float_credit: bool = False, stage=lambda name: None, keep=()) -> int:
    """The users' side of METRICS.md in SQL (benches/duckdb_topical.py's plan,
    shared with benches/duckdb_customers.py). Leaves the TEMP TABLEs
    directed(u, v) (both directions), friend_counts(user_id, friend_count),
    topic_names(topic, tid) (ids in name order), adoptions(u, tid, day),
    user_topics(user_id, tid, adopted, reach, persuaded, credit, k),
    leaders(tid, rank, user_id, credit, persuaded, reach) and
    users(user_id, friend_count, influence, persuaded_total, top_tid, tier);
    also counts, persuasions(u, v, tid), persuaders(v, tid, k) and
    credits(u, tid, credit) when named in `keep`. Calls stage(name) after
    each step; returns the number of distinct friendships."""
    W = int(window)
    K = int(top_k)
    # 1. Friendships: normalise + drop self-loops + DISTINCT once, then both directions.
    load_friendships(con, friendships_path)
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
        FROM read_csv({sql_path(adoptions_path)},
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
    if float_credit:
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
        if table not in keep:
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
               CASE WHEN coalesce(f.friend_count, 0) >= {super_min} THEN 'super-connector'
                    WHEN l.user_id IS NOT NULL THEN 'topical-influencer'
                    WHEN coalesce(f.friend_count, 0) >= {connector_min} THEN 'connector'
                    ELSE 'standard' END AS tier
        FROM everyone e
        LEFT JOIN friend_counts f USING (user_id)
        LEFT JOIN per_user p USING (user_id)
        LEFT JOIN leader_ids l USING (user_id)
        """
    )
    stage("leaders_users_s")
    return friendships


def copy_to_csv(con, query: str, path: str) -> None:
    """COPY a query's rows to a CSV file with a header."""
    con.execute(f"COPY ({query}) TO {sql_path(path)} (HEADER, DELIMITER ',')")


def write_social(con, out_dir: str, *, super_min: int = SUPER_CONNECTOR_MIN) -> None:
    """Writes build_social's tables as reach names them, sorted: users.csv,
    user_topics.csv, topic_leaders.csv, degree_distribution.csv, topics.csv."""
    def copy(query: str, name: str) -> None:
        copy_to_csv(con, query, os.path.join(out_dir, name))

    copy(
        f"""
        SELECT u.user_id, u.friend_count,
               u.friend_count >= {super_min} AS super_connector,
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
