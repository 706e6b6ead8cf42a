"""The results database (SQLite, one file per sweep).

Table `points`: one row per point, keyed by the hash of its effective configuration: the swept
parameters (one column per axis key path, plus `network`), status, exit code, error text, wall
time, worker, every scalar stats figure (one column per dotted key, e.g. "energy_pj.total", added
as new keys appear; per-layer figures included) and the whole stats JSON. Table `meta`: the sweep
file and its axes. Table `config_hashes` caches each request's configuration hash (task.request_key
-> config_hash), so a resume asks cimtlm only about requests it has not seen. The points of a chunk
are written in one transaction, so an interrupted sweep leaves only whole rows; WAL mode lets
plots and tests read while a sweep writes.
"""
import json
import sqlite3
import time

from . import task

FIXED_COLUMNS = [
    ("id", "INTEGER PRIMARY KEY"),
    ("config_hash", "TEXT NOT NULL UNIQUE"),  # task.effective_hash, or task.fallback_hash
    ("request_key", "TEXT"),  # task.request_key: what was asked of which cimtlm
    ("sweep", "TEXT"),
    ("network", "TEXT"),
    ("params", "TEXT"),  # JSON {axis key: value}
    ("overrides", "TEXT"),  # JSON [[key, text]] as passed to --set
    ("status", "TEXT NOT NULL"),  # ok | fail | invalid | error
    ("exit_code", "INTEGER"),
    ("error", "TEXT"),
    ("wall_s", "REAL"),
    ("worker", "TEXT"),
    ("host", "TEXT"),
    ("started_at", "REAL"),
    ("finished_at", "REAL"),
    ("runs", "INTEGER NOT NULL DEFAULT 1"),  # how many sweep invocations recorded this point
    ("accuracy", "REAL"),
    ("accuracy_samples", "INTEGER"),
    ("accuracy_agreement", "REAL"),  # same class as the ideal integer model (cimtlm evaluate)
    ("accuracy_bit_exact", "REAL"),  # outputs bit-exact to the ideal integer model
    ("float_accuracy", "REAL"),
    ("integer_accuracy", "REAL"),
    ("stats_json", "TEXT"),
]
FIXED_NAMES = {name for name, _ in FIXED_COLUMNS}
ACCURACY_COLUMNS = ("accuracy", "accuracy_samples", "accuracy_agreement", "accuracy_bit_exact",
                    "float_accuracy", "integer_accuracy")
# SQLite's default limit is 2000 columns; stats beyond a safe budget stay in stats_json only.
MAX_STAT_COLUMNS = 1500


def quote(name):
    return '"' + name.replace('"', '""') + '"'


class ResultsDb:
    def __init__(self, path):
        self.path = path
        self.connection = sqlite3.connect(path, timeout=30)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        with self.connection:
            self.connection.execute(
                "CREATE TABLE IF NOT EXISTS points (" + ", ".join(f"{n} {t}" for n, t in FIXED_COLUMNS) + ")")
            self.connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            self.connection.execute(
                "CREATE TABLE IF NOT EXISTS columns (name TEXT PRIMARY KEY, kind TEXT NOT NULL)")  # axis | stat
            self.connection.execute("CREATE TABLE IF NOT EXISTS config_hashes "
                                    "(request_key TEXT PRIMARY KEY, config_hash TEXT NOT NULL)")
            self._columns = self._existing_columns()
            for name, sql_type in FIXED_COLUMNS:  # a database of an older cimtlm-sweep
                if name not in self._columns:
                    self.connection.execute(f"ALTER TABLE points ADD COLUMN {quote(name)} {sql_type}")
                    self._columns.add(name)
            # Each finished point deletes an earlier 'error' row of its request: without an index
            # that is a scan of the table per point, quadratic in the sweep's size.
            self.connection.execute("CREATE INDEX IF NOT EXISTS points_by_request ON points (request_key)")
        self._statements = {}
        self._layouts = {}  # (figure names, axis names) -> figures with a column (_stat_names)

    def _existing_columns(self):
        return {row[1] for row in self.connection.execute("PRAGMA table_info(points)")}

    def close(self):
        self.connection.close()

    def set_meta(self, values):
        with self.connection:
            for key, value in values.items():
                self.connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                        (key, json.dumps(value)))

    def meta(self):
        return {key: json.loads(value) for key, value in self.connection.execute("SELECT key, value FROM meta")}

    def finished_hashes(self):
        marks = ",".join("?" * len(task.FINISHED))
        return {row[0] for row in self.connection.execute(
            f"SELECT config_hash FROM points WHERE status IN ({marks})", task.FINISHED)}

    def _ensure_column(self, name, kind, sql_type):
        if name in self._columns:
            return True
        if kind == "stat" and sum(1 for c in self._columns if c not in FIXED_NAMES) >= MAX_STAT_COLUMNS:
            return False
        self.connection.execute(f"ALTER TABLE points ADD COLUMN {quote(name)} {sql_type}")
        self.connection.execute("INSERT OR IGNORE INTO columns (name, kind) VALUES (?, ?)", (name, kind))
        self._columns.add(name)
        return True

    def _stat_names(self, flat, params):
        """The figures of `flat` that have a column, in order, their columns made if missing.
        Points of a sweep share one list of figure names: it is checked once, not per point."""
        layout = (tuple(flat), tuple(params))
        names = self._layouts.get(layout)
        if names is None:
            self._add_columns_at_once(flat, params)
            names = []
            for key, value in flat.items():
                if key in FIXED_NAMES or key in params:
                    continue
                if self._ensure_column(key, "stat", "REAL" if isinstance(value, (int, float)) else "TEXT"):
                    names.append(key)
            self._layouts[layout] = names
        return names

    def _add_columns_at_once(self, flat, params):
        """The first row's ~300 figure columns: one ALTER TABLE each re-reads the whole schema
        (~70 ms of CPU for the first row). While the table is empty it is made again with them
        instead: the same schema text as the ALTERs give, made at once. Columns past the budget
        and those of a table with rows are left to _ensure_column."""
        room = MAX_STAT_COLUMNS - sum(1 for c in self._columns if c not in FIXED_NAMES)
        new = {}
        for key, value in flat.items():
            if key not in FIXED_NAMES and key not in params and key not in self._columns:
                new.setdefault(key, "REAL" if isinstance(value, (int, float)) else "TEXT")
        new = list(new.items())[:max(room, 0)]
        if len(new) < 2 or self.connection.execute("SELECT 1 FROM points LIMIT 1").fetchone():
            return
        sql = self.connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'points'").fetchone()[0]
        close = sql.rindex(")")
        sql = sql[:close] + "".join(f", {quote(name)} {sql_type}" for name, sql_type in new) + sql[close:]
        self.connection.execute("DROP TABLE points")
        self.connection.execute(sql)
        self.connection.execute("CREATE INDEX IF NOT EXISTS points_by_request ON points (request_key)")
        self.connection.executemany("INSERT OR IGNORE INTO columns (name, kind) VALUES (?, 'stat')",
                                    [(name,) for name, _ in new])
        self._columns.update(name for name, _ in new)

    def config_hashes(self):
        return dict(self.connection.execute("SELECT request_key, config_hash FROM config_hashes"))

    def remember_hashes(self, pairs):
        with self.connection:
            self.connection.executemany("INSERT OR REPLACE INTO config_hashes (request_key, config_hash) "
                                        "VALUES (?, ?)", pairs)

    def record(self, point, result):
        self.record_many([(point, result)])

    def record_many(self, pairs):
        """Write finished (or errored) points in one transaction. A point already recorded with a
        final status is never overwritten; an 'error' row of the same request is replaced by the
        re-run's row."""
        finished_at = time.time()
        with self.connection:
            for point, result in pairs:
                self._write(point, result, finished_at)
            self.connection.executemany(
                "INSERT OR REPLACE INTO config_hashes (request_key, config_hash) VALUES (?, ?)",
                [(result["request_key"], result["config_hash"]) for _, result in pairs
                 if result["request_key"] and result["status"] in task.FINISHED])

    def _write(self, point, result, finished_at):
        accuracy = result.get("accuracy") or {}
        values = {
            "config_hash": result["config_hash"], "request_key": result["request_key"],
            "sweep": point["sweep"], "network": point["network_name"],
            "params": json.dumps(point["params"]), "overrides": json.dumps(point["overrides"]),
            "status": result["status"], "exit_code": result["exit_code"], "error": result["error"],
            "wall_s": result["wall_s"], "worker": result["worker"], "host": result["host"],
            "started_at": result["started_at"], "finished_at": finished_at,
            "stats_json": result.get("stats_json"),
        }
        for name in ACCURACY_COLUMNS:
            values[name] = accuracy.get(name)
        for key, value in point["params"].items():
            self._ensure_column(key, "axis", "")
            values[key] = value if not isinstance(value, bool) else int(value)
        flat = result.get("flat") or {}
        for key in self._stat_names(flat, point["params"]):
            values[key] = flat[key]
        if result["status"] in task.FINISHED:
            # The same request failed to run before (no effective configuration then): this row
            # replaces it.
            self.connection.execute("DELETE FROM points WHERE request_key = ? AND status = 'error' "
                                    "AND config_hash != ?", (result["request_key"], result["config_hash"]))
        names = tuple(values)
        statement = self._statements.get(names)
        if statement is None:
            assignments = ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in names if n != "config_hash")
            statement = (f"INSERT INTO points ({', '.join(quote(n) for n in names)}) "
                         f"VALUES ({','.join('?' * len(names))}) ON CONFLICT(config_hash) DO UPDATE SET "
                         f"{assignments}, runs = points.runs + 1 WHERE points.status = 'error'")
            self._statements[names] = statement
        self.connection.execute(statement, [values[n] for n in names])

    def axis_columns(self):
        return [row[0] for row in self.connection.execute("SELECT name FROM columns WHERE kind = 'axis' ORDER BY rowid")]

    def stat_columns(self):
        return [row[0] for row in self.connection.execute("SELECT name FROM columns WHERE kind = 'stat' ORDER BY rowid")]

    def rows(self):
        cursor = self.connection.execute("SELECT * FROM points ORDER BY id")
        names = [d[0] for d in cursor.description]
        return names, cursor.fetchall()
