"""SQLite's compiled-in features: FTS5, JSON, R*Tree, math functions, soundex, the statement
table, Debian's limit of 250000 parameters, loadable extensions.

Argument (optional): a do-nothing extension library to load.
"""

import sqlite3
import sys

db = sqlite3.connect(":memory:")
db.execute("CREATE VIRTUAL TABLE docs USING fts5(body)")
db.executemany("INSERT INTO docs VALUES (?)", [("portable python",), ("static linking",)])
assert db.execute("SELECT body FROM docs WHERE docs MATCH 'portable'").fetchall() == [
    ("portable python",)
]
assert db.execute("""SELECT json_extract('{"a": [1, 2]}', '$.a[1]')""").fetchone() == (2,)
db.execute("CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1, y0, y1)")
db.execute("INSERT INTO boxes VALUES (1, 0, 10, 0, 10)")
assert db.execute("SELECT id FROM boxes WHERE x0 <= 5 AND x1 >= 5").fetchall() == [(1,)]
root, pi = db.execute("SELECT sqrt(16), pi()").fetchone()
assert root == 4.0 and abs(pi - 3.14159265) < 1e-6, (root, pi)
assert db.execute("SELECT soundex('Robert')").fetchone() == ("R163",)
assert db.execute("SELECT count(*) FROM sqlite_stmt").fetchone()[0] >= 1
many = 40000  # above SQLite's default limit of 32766
assert db.execute(f"SELECT 7 IN ({','.join('?' * many)})", range(many)).fetchone() == (1,)
summary = f"SQLite {sqlite3.sqlite_version}: fts5, json, rtree, math, soundex, sqlite_stmt, {many} parameters"
if len(sys.argv) > 1:
    db.enable_load_extension(True)
    db.load_extension(sys.argv[1])
    summary += ", load_extension"
print(summary)
