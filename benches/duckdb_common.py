"""What the DuckDB yardsticks share: the parameters' defaults, a connection
set up like every benchmark run, and the friendships loaded as a set (each
friendship once as (least, greatest), self-loops dropped), as METRICS.md
defines the simple undirected graph."""

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
