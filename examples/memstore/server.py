#!/usr/bin/env python3
"""memstore: a small "memories" service, built to be broken on purpose.

It stores short texts ("memories") in SQLite, asks an enrichment upstream
(upstream.py, a line protocol over TCP) for tags on every write, and keeps
an in-memory LRU cache of memories. It answers HTTP/JSON:

    POST /memories          {"text": "..."}  -> 201 {"id", "tags", "degraded"}
    GET  /memories/<id>                       -> 200 memory | 404 | 503
    GET  /memories?q=word                     -> 200 {"results": [...]} | 503
    GET  /health                              -> 200 | 503 {"status", "db", "upstream", "db_breaker", "cache"}
    GET  /stats                               -> 200 counters

Resilience patterns, all switched off by --fragile (the variant whose chaos
experiments are expected to deviate):

  * retries with exponential backoff and jitter around every SQLite
    operation and every upstream call (`with_retries`, `RetryPolicy`);
  * a circuit breaker on the upstream (`CircuitBreaker`, `Service.enrich`):
    while it is open, writes are stored without tags and marked `degraded`;
  * best-effort enrichment: an upstream that keeps failing degrades a write,
    it never fails it (`Service.enrich`);
  * a circuit breaker on the database (`Service._db`): while it is open,
    reads and searches go straight to the cache, writes fail fast;
  * a deadline on database reads, then the cache as a fallback for reads
    and searches (`Service._read`, `Service.get_memory`, `Service.search`);
  * corruption handling: a row that does not match its checksum, or SQLite's
    "malformed", is a database error; the connection is replaced, so that
    the retry reads the file again (`Store._check`, `Store._still_usable`);
  * memory pressure relief: a MemoryError evicts a tenth of the cache, a
    failed cache fill never fails a request, and a GET that ran out of memory
    is run once more (`Service.relieve_memory_pressure`, `Handler._run_route`).

Whatever the mode, a request that runs out of memory gets a 503 and the
server keeps serving (`Handler.handle`, `serve`), and requests run on worker
threads started up front (`WorkerPool`: bounded queues, no thread started
per request).

Standard library only; it knows nothing of how it is being faulted.
"""
import argparse
import collections
import contextlib
import dataclasses
import faulthandler
import json
import queue
import random
import re
import signal
import socket
import sqlite3
import sys
import threading
import time
import traceback
import zlib
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
PAYLOAD_SIZE = 8 * 1024  # bytes kept per cached memory (see Memory)
MAX_BODY = 64 * 1024  # largest POST body accepted
MAX_TEXT = 10_000  # longest memory text accepted (characters)
SEARCH_LIMIT = 20  # results per search
MAX_IDLE_CONNECTIONS = 8  # SQLite connections kept open between requests
HTTP_WORKERS = 32  # threads serving requests
DB_READ_WORKERS = 8  # threads running database reads under a deadline
QUEUE_LIMIT = 128  # tasks waiting for a worker, at most (then: refused)
PRESSURE_EVICTION = 0.1  # the share of the cache evicted after a MemoryError
MAX_UPSTREAM_LINE = 4096  # longest upstream response line accepted
TAG_RE = re.compile(r"^[a-z0-9:]+$")  # what a well-formed tag looks like


# --------------------------------------------------------------------------
# Errors


class Unavailable(Exception):
    """The request cannot be served now: the handler answers 503."""


class CorruptRow(sqlite3.DatabaseError):
    """A row whose stored checksum does not match its text."""


class QueryTimeout(sqlite3.OperationalError):
    """A database read that did not finish before its deadline."""


class DbBreakerOpen(sqlite3.OperationalError):
    """The database circuit breaker refused the operation."""


class UpstreamError(Exception):
    """The upstream answered something that is not a valid response."""


class BreakerOpen(Exception):
    """The circuit breaker refused the call: the upstream was not asked."""


# What a database operation may raise that is worth retrying: SQLite's own
# errors (busy, locked, I/O, malformed...), a mismatched checksum, a read past
# its deadline, and SQLITE_NOMEM, which the sqlite3 module raises as MemoryError.
DB_ERRORS = (sqlite3.DatabaseError, MemoryError)
# What an upstream call may raise: socket errors and timeouts (OSError) and
# responses that do not parse.
UPSTREAM_ERRORS = (OSError, UpstreamError)


# --------------------------------------------------------------------------
# Counters


class Stats:
    """Named counters, safe to bump from any thread."""

    NAMES = (
        "requests", "responses_2xx", "responses_4xx", "responses_5xx",
        "writes", "degraded_writes", "reads", "searches",
        "db_retries", "db_failures", "db_timeouts", "corrupt_rows",
        "upstream_calls", "upstream_retries", "upstream_failures",
        "breaker_trips", "breaker_rejections", "db_breaker_trips", "db_breaker_rejections",
        "cache_hits", "cache_misses", "fallbacks", "cache_evictions",
        "pressure_evictions", "memory_errors",
    )

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.NAMES, 0)

    def incr(self, name, n=1):
        with self._lock:
            self._counts[name] += n

    def snapshot(self):
        with self._lock:
            return dict(self._counts)


# --------------------------------------------------------------------------
# Worker threads


class Overloaded(Exception):
    """A worker pool's queue is full."""


class WorkerPool:
    """A fixed set of daemon threads running queued tasks.

    All threads are started up front, never per request: CPython's
    Thread.start() waits for the new thread to say it has started, and a
    thread whose start-up itself runs out of memory never says so, which
    would freeze the caller (the accept loop) for good. A bounded queue also
    caps how much work can pile up behind a slow dependency (a bulkhead)."""

    def __init__(self, name, workers, queue_limit=QUEUE_LIMIT):
        self._queue = queue.Queue(queue_limit)
        for i in range(workers):
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True).start()

    def submit(self, task):
        """Queue task() for a worker; Overloaded if the queue is full."""
        try:
            self._queue.put_nowait(task)
        except queue.Full:
            raise Overloaded() from None

    def _work(self):
        while True:
            try:
                task = self._queue.get()
                task()
            except Exception:  # tasks handle their own errors; a worker must not die
                time.sleep(0.001)  # (even a MemoryError while waiting for a task)


# --------------------------------------------------------------------------
# Retries


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: `attempts` tries in all, the
    k-th retry after base_delay * factor**k, scaled by a random factor in
    [1 - jitter, 1 + jitter] so that concurrent retries spread out."""

    attempts: int = 4  # the first try and 3 retries: 10 ms, 20 ms, 40 ms
    base_delay: float = 0.010
    factor: float = 2.0
    jitter: float = 0.5

    def delay(self, retry_index):
        nominal = self.base_delay * self.factor ** retry_index
        return nominal * random.uniform(1 - self.jitter, 1 + self.jitter)


NO_RETRY = RetryPolicy(attempts=1)


def with_retries(operation, policy, retry_on, on_retry=None, deadline=None):
    """Return operation(), called up to policy.attempts times while it raises
    one of `retry_on`; the last error is re-raised. A retry whose backoff
    would end past `deadline` (time.monotonic()) is not attempted. Any other
    exception propagates at once. on_retry() is called before each retry."""
    for attempt in range(policy.attempts):
        try:
            return operation()
        except retry_on:
            if attempt + 1 >= policy.attempts:
                raise
            pause = policy.delay(attempt)
            if deadline is not None and time.monotonic() + pause >= deadline:
                raise
            if on_retry is not None:
                on_retry()
            time.sleep(pause)
    raise AssertionError("unreachable: attempts must be at least 1")


# --------------------------------------------------------------------------
# Circuit breaker


class CircuitBreaker:
    """Stops calling a dependency that keeps failing.

    closed: calls go through; `threshold` consecutive failures open it.
    open: calls are refused for `reset_after` seconds, then the next call is
    let through as a trial (half-open): its success closes the breaker, its
    failure opens it again for another `reset_after`."""

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"

    def __init__(self, threshold=5, reset_after=1.0, clock=time.monotonic):
        self._threshold = threshold
        self._reset_after = reset_after
        self._clock = clock
        self._lock = threading.Lock()
        self._state = self.CLOSED
        self._failures = 0  # consecutive, while closed
        self._opened_at = 0.0

    def state(self):
        """The state as a caller would find it now (an open breaker whose
        pause is over reads half-open: the next call is a trial)."""
        with self._lock:
            if self._state == self.OPEN and self._pause_over():
                return self.HALF_OPEN
            return self._state

    def allow(self):
        """Whether a call may go to the dependency now. In half-open, only
        one call (the trial) is allowed until its outcome is recorded."""
        with self._lock:
            if self._state == self.CLOSED:
                return True
            if self._state == self.OPEN and self._pause_over():
                self._state = self.HALF_OPEN  # this caller is the trial
                return True
            return False

    def record_success(self):
        with self._lock:
            self._state = self.CLOSED
            self._failures = 0

    def record_failure(self):
        """Count a failed call; True when this failure opened the breaker."""
        with self._lock:
            if self._state == self.HALF_OPEN:
                self._open()
                return True
            if self._state == self.OPEN:
                return False  # a call that started before the breaker opened
            self._failures += 1
            if self._failures >= self._threshold:
                self._open()
                return True
            return False

    def _open(self):
        self._state = self.OPEN
        self._opened_at = self._clock()
        self._failures = 0

    def _pause_over(self):
        return self._clock() - self._opened_at >= self._reset_after


# --------------------------------------------------------------------------
# Cache


class Memory:
    """One stored memory as the cache keeps it.

    `payload` stands in for what a real service keeps next to a record (an
    embedding, a rendered page): about 8 KiB derived from the text, so that
    the cache's size is what memory pressure is about, and building one is
    an allocation large enough to come from malloc."""

    __slots__ = ("id", "text", "tags", "degraded", "payload")

    def __init__(self, memory_id, text, tags, degraded):
        self.id = memory_id
        self.text = text
        self.tags = list(tags)
        self.degraded = bool(degraded)
        self.payload = make_payload(text)

    def to_json(self, source):
        return memory_json(self.id, self.text, self.tags, self.degraded, source)


def memory_json(memory_id, text, tags, degraded, source):
    """A memory as GET /memories/<id> answers it; `source` is "db" or "cache"."""
    return {"id": memory_id, "text": text, "tags": tags, "degraded": degraded, "source": source}


def make_payload(text):
    """The text's bytes repeated to PAYLOAD_SIZE."""
    data = text.encode("utf-8") or b"-"
    return (data * (PAYLOAD_SIZE // len(data) + 1))[:PAYLOAD_SIZE]


class LRUCache:
    """Memories by id, least recently used evicted first. Thread safe."""

    def __init__(self, capacity, stats):
        self._capacity = max(0, capacity)
        self._stats = stats
        self._lock = threading.Lock()
        self._items = collections.OrderedDict()

    def __len__(self):
        with self._lock:
            return len(self._items)

    def get(self, memory_id):
        """The cached memory (now most recently used), or None."""
        with self._lock:
            memory = self._items.get(memory_id)
            if memory is not None:
                self._items.move_to_end(memory_id)
        self._stats.incr("cache_hits" if memory is not None else "cache_misses")
        return memory

    def put(self, memory):
        evicted = 0
        with self._lock:
            if self._capacity == 0:
                return
            self._items[memory.id] = memory
            self._items.move_to_end(memory.id)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
                evicted += 1
        if evicted:
            self._stats.incr("cache_evictions", evicted)

    def shrink(self, fraction):
        """Evict the oldest `fraction` of the entries (at least one if any);
        return how many were evicted."""
        with self._lock:
            n = min(len(self._items), max(1, int(len(self._items) * fraction)))
            for _ in range(n):
                self._items.popitem(last=False)
        return n

    def search(self, query, limit):
        """Up to `limit` cached memories whose text contains `query`
        (case-insensitive), most recently used first."""
        needle = query.lower()
        with self._lock:
            candidates = list(reversed(self._items.values()))
        return [m for m in candidates if needle in m.text.lower()][:limit]


# --------------------------------------------------------------------------
# Database


class Store:
    """The memories table in SQLite (WAL mode). Each method is one attempt:
    retrying is the caller's business. Connections are pooled (at most
    MAX_IDLE_CONNECTIONS kept open); one is opened whenever none is idle."""

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS memories (
            id       INTEGER PRIMARY KEY,
            text     TEXT NOT NULL,
            tags     TEXT NOT NULL,     -- a json array of strings
            degraded INTEGER NOT NULL,  -- 1: stored without enrichment
            crc      INTEGER NOT NULL,  -- crc32 of text: detects altered rows
            created  REAL NOT NULL
        )"""
    COLUMNS = "id, text, tags, degraded, crc"

    def __init__(self, path, busy_timeout, cache_pages=None):
        self._path = path
        self._busy_timeout = busy_timeout
        self._cache_pages = cache_pages
        self._lock = threading.Lock()
        self._idle = []

    def init_schema(self):
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(self.SCHEMA)

    def insert(self, text, tags, degraded):
        """Store a memory; its new id."""
        with self._connection() as conn:
            cur = conn.execute(
                "INSERT INTO memories (text, tags, degraded, crc, created) VALUES (?, ?, ?, ?, ?)",
                (text, json.dumps(tags), int(degraded), text_crc(text), time.time()),
            )
            return cur.lastrowid

    def get(self, memory_id):
        """The row (id, text, tags, degraded) of a memory, or None."""
        with self._connection() as conn:
            row = conn.execute(
                f"SELECT {self.COLUMNS} FROM memories WHERE id = ?", (memory_id,)
            ).fetchone()
        return None if row is None else self._check(row)

    def search(self, query, limit):
        """Rows whose text contains `query` (LIKE, so ASCII case-insensitive),
        newest first; an empty query lists the newest."""
        pattern = "%" + escape_like(query) + "%"
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {self.COLUMNS} FROM memories WHERE text LIKE ? ESCAPE '\\' "
                "ORDER BY id DESC LIMIT ?",
                (pattern, limit),
            ).fetchall()
        return [self._check(row) for row in rows]

    def preload(self, count):
        """Top the table up to COUNT memories (generated texts, no tags), in
        one transaction, then checkpoint the WAL into the database file: a
        store that starts populated, its pages in the file, not the WAL.
        Returns how many were added."""
        with self._connection() as conn:
            have = conn.execute("SELECT count(*) FROM memories").fetchone()[0]
            missing = max(0, count - have)
            if missing:
                now = time.time()
                texts = (preload_text(have + i + 1) for i in range(missing))
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT INTO memories (text, tags, degraded, crc, created) VALUES (?, '[]', 0, ?, ?)",
                    ((t, text_crc(t), now) for t in texts),
                )
                conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return missing

    def ping(self):
        """Raise if the database does not answer a trivial query."""
        with self._connection() as conn:
            conn.execute("SELECT 1").fetchone()

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            close_quietly(conn)

    @staticmethod
    def _check(row):
        """(id, text, tags, degraded) from a row, or CorruptRow if the text
        does not match its checksum or the tags are not a json list."""
        memory_id, text, tags_json, degraded, crc = row
        try:
            tags = json.loads(tags_json)
        except (TypeError, ValueError):
            tags = None
        if not isinstance(text, str) or text_crc(text) != crc or not isinstance(tags, list):
            raise CorruptRow(f"memory {memory_id}: stored row does not match its checksum")
        return memory_id, text, tags, bool(degraded)

    @contextlib.contextmanager
    def _connection(self):
        conn = self._take()
        try:
            yield conn
        except BaseException as exc:
            if self._still_usable(conn, exc):
                self._give_back(conn)
            else:
                close_quietly(conn)
            raise
        self._give_back(conn)

    @staticmethod
    def _still_usable(conn, exc):
        """Whether a connection that just raised EXC may be used again.

        After a failed statement (busy, locked, I/O error, out of memory) an
        autocommit connection is as good as before: keep it, since opening
        one costs many allocations, the last thing to do under memory
        pressure. Not after corruption: its page cache may hold the damaged
        page, and only a fresh connection reads it again from the file."""
        if isinstance(exc, CorruptRow) or (
                isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)):
            return False
        try:
            if conn.in_transaction:
                conn.rollback()
            return True
        except Exception:
            return False

    def _take(self):
        with self._lock:
            if self._idle:
                return self._idle.pop()
        # isolation_level=None: autocommit, every statement is its own
        # transaction, so a failed statement leaves nothing half done.
        conn = sqlite3.connect(
            self._path, timeout=self._busy_timeout, isolation_level=None,
            check_same_thread=False,
        )
        if self._cache_pages is not None:
            # SQLite's own page cache, per connection (default 2 MiB): a page
            # found there is not read from the file again.
            try:
                conn.execute(f"PRAGMA cache_size={int(self._cache_pages)}")
            except BaseException:
                close_quietly(conn)
                raise
        return conn

    def _give_back(self, conn):
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        close_quietly(conn)


# Words of the generated memories (--preload); loadgen.py searches the same.
PRELOAD_WORDS = (
    "river mountain coffee garden meeting project deadline birthday travel "
    "music python server database network memory cache upstream recipe "
    "weekend morning evening letter friend family budget invoice doctor "
    "train airport museum library concert holiday market bicycle kitchen"
).split()


def preload_text(n):
    """The generated text of the n-th preloaded memory (the same every time)."""
    rng = random.Random(n)
    return f"memory {n}: " + " ".join(rng.choice(PRELOAD_WORDS) for _ in range(rng.randint(4, 14)))


def text_crc(text):
    return zlib.crc32(text.encode("utf-8"))


def escape_like(text):
    """TEXT with LIKE's wildcards escaped (ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def describe(exc):
    """An exception as a short message (a MemoryError has no text)."""
    return str(exc) or type(exc).__name__


def out_of_memory(exc):
    """Whether EXC means the process ran out of memory: a MemoryError, or
    the RuntimeError CPython raises when it cannot allocate a lock."""
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and "can't allocate" in str(exc))


def close_quietly(conn):
    try:
        conn.close()
    except Exception:  # closing under faults may fail too: nothing to do
        pass


# --------------------------------------------------------------------------
# Upstream client


class Upstream:
    """Client of upstream.py: one TCP connection per call."""

    def __init__(self, host, port, timeout):
        self._address = (host, port)
        self._timeout = timeout  # for the connect, and again for the answer

    def enrich(self, text, deadline):
        """The tags for TEXT. Raises OSError (refused, reset, timeout...) or
        UpstreamError (a malformed answer); never waits past `deadline`."""
        line = "ENRICH " + " ".join(text.split()) + "\n"  # one line, whatever the text
        with socket.create_connection(self._address, timeout=self._wait(deadline)) as sock:
            sock.settimeout(self._wait(deadline))
            sock.sendall(line.encode("utf-8"))
            return parse_tags(self._read_line(sock, deadline))

    def _wait(self, deadline):
        """How long the next socket operation may block."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("upstream: deadline passed")
        return min(self._timeout, remaining)

    def _read_line(self, sock, deadline):
        data = b""
        while b"\n" not in data:
            if len(data) > MAX_UPSTREAM_LINE:
                raise UpstreamError("upstream: response line too long")
            sock.settimeout(self._wait(deadline))
            chunk = sock.recv(4096)
            if not chunk:
                raise UpstreamError("upstream: connection closed before the answer")
            data += chunk
        return data.split(b"\n", 1)[0].decode("utf-8", "replace")


def parse_tags(line):
    """Tags from an `OK a,b,c` line; UpstreamError for anything else
    (including a line damaged in transit)."""
    if line == "OK":
        return []
    if not line.startswith("OK "):
        raise UpstreamError(f"upstream: unexpected answer {line[:40]!r}")
    tags = [t for t in line[3:].split(",") if t]
    if not all(TAG_RE.match(t) for t in tags):
        raise UpstreamError("upstream: malformed tags")
    return tags


def parse_host_port(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or HOST, int(port)


# --------------------------------------------------------------------------
# The service


@dataclasses.dataclass(frozen=True)
class Config:
    db_path: str
    upstream: tuple
    cache_size: int = 256
    fragile: bool = False
    busy_timeout: float = 0.05  # SQLite waits this long for a lock
    db_read_timeout: float = 0.3  # a read past this falls back to the cache
    upstream_timeout: float = 0.5  # per connect, per answer
    upstream_budget: float = 0.6  # all attempts of one enrichment together
    breaker_threshold: int = 5  # consecutive failed upstream calls (attempts)
    db_breaker_threshold: int = 10  # consecutive failed database operations (after retries)
    breaker_reset: float = 1.0  # seconds open before a trial
    sqlite_cache_pages: int = None  # None: SQLite's default
    retry: RetryPolicy = RetryPolicy()


class Service:
    """The memstore logic, independent of HTTP: each public method returns
    (status, json body) or raises Unavailable (503)."""

    def __init__(self, config):
        self.config = config
        self.fragile = config.fragile
        self.stats = Stats()
        self.cache = LRUCache(config.cache_size, self.stats)
        self.store = Store(config.db_path, config.busy_timeout, config.sqlite_cache_pages)
        self.upstream = Upstream(*config.upstream, timeout=config.upstream_timeout)
        self.upstream_breaker = CircuitBreaker(config.breaker_threshold, config.breaker_reset)
        self.db_breaker = CircuitBreaker(config.db_breaker_threshold, config.breaker_reset)
        self._retry = NO_RETRY if config.fragile else config.retry
        self._db_readers = WorkerPool("db-read", DB_READ_WORKERS)

    def start(self, preload=0):
        """Create the schema (retried: the database may be busy at start),
        and top the table up to PRELOAD memories."""
        with_retries(self.store.init_schema, self.config.retry, DB_ERRORS)
        if preload:
            with_retries(lambda: self.store.preload(preload), self.config.retry, DB_ERRORS)

    def close(self):
        self.store.close()

    # ---- endpoints

    def create_memory(self, text):
        self.stats.incr("writes")
        tags, degraded = self.enrich(text)
        try:
            memory_id = self._db(lambda: self.store.insert(text, tags, degraded))
        except DB_ERRORS as exc:
            raise Unavailable(f"database: {describe(exc)}") from exc
        if degraded:
            self.stats.incr("degraded_writes")
        self._cache_fill(lambda: Memory(memory_id, text, tags, degraded))
        return 201, {"id": memory_id, "tags": tags, "degraded": degraded}

    def get_memory(self, memory_id):
        self.stats.incr("reads")
        cached = self.cache.get(memory_id)
        try:
            row = self._read(lambda: self.store.get(memory_id))
        except DB_ERRORS as exc:
            if self.fragile or cached is None:
                raise Unavailable(f"database: {describe(exc)}") from exc
            self.stats.incr("fallbacks")
            return 200, cached.to_json(source="cache")
        if row is None:
            return 404, {"error": f"no memory {memory_id}"}
        if cached is None:
            self._cache_fill(lambda: Memory(*row))
        return 200, memory_json(*row, source="db")

    def search(self, query):
        self.stats.incr("searches")
        try:
            rows = self._read(lambda: self.store.search(query, SEARCH_LIMIT))
        except DB_ERRORS as exc:
            if self.fragile:
                raise Unavailable(f"database: {describe(exc)}") from exc
            # Degrade: what the cache holds is better than nothing.
            self.stats.incr("fallbacks")
            found = self.cache.search(query, SEARCH_LIMIT)
            results = [{"id": m.id, "text": m.text, "tags": m.tags} for m in found]
            return 200, {"q": query, "results": results, "source": "cache", "degraded": True}
        results = [{"id": r[0], "text": r[1], "tags": r[2]} for r in rows]
        return 200, {"q": query, "results": results, "source": "db", "degraded": False}

    def health(self):
        try:
            self.store.ping()  # one try: health reports the state, it does not mask it
            db = "ok"
        except DB_ERRORS:
            db = "fail"
        upstream, db_breaker = self._breaker_states()
        if db != "ok":
            status = "unhealthy"
        elif upstream == db_breaker == CircuitBreaker.CLOSED or self.fragile:
            status = "healthy"
        else:
            status = "degraded"
        body = {"status": status, "db": db, "upstream": upstream, "db_breaker": db_breaker,
                "cache": len(self.cache), "fragile": self.fragile}
        return (200 if db == "ok" else 503), body

    def _breaker_states(self):
        """(upstream breaker, database breaker): states, or "disabled"."""
        if self.fragile:
            return "disabled", "disabled"
        return self.upstream_breaker.state(), self.db_breaker.state()

    def stats_body(self):
        body = self.stats.snapshot()
        upstream, db_breaker = self._breaker_states()
        body.update(cache_size=len(self.cache), cache_capacity=self.config.cache_size,
                    upstream_breaker=upstream, db_breaker=db_breaker, fragile=self.fragile)
        return 200, body

    # ---- failure handling

    def enrich(self, text):
        """(tags, degraded). Resilient: retried within a time budget through
        the breaker; when that fails the write goes on without tags
        (degraded). Fragile: one call, and its failure fails the write."""
        deadline = time.monotonic() + self.config.upstream_budget
        if self.fragile:
            try:
                self.stats.incr("upstream_calls")
                return self.upstream.enrich(text, deadline), False
            except UPSTREAM_ERRORS as exc:
                self.stats.incr("upstream_failures")
                raise Unavailable(f"upstream: {describe(exc)}") from exc
        try:
            tags = with_retries(
                lambda: self._call_upstream(text, deadline), self._retry, UPSTREAM_ERRORS,
                on_retry=lambda: self.stats.incr("upstream_retries"), deadline=deadline,
            )
            return tags, False
        except BreakerOpen:
            self.stats.incr("breaker_rejections")
        except UPSTREAM_ERRORS:
            self.stats.incr("upstream_failures")
        return [], True

    def _call_upstream(self, text, deadline):
        """One upstream call through the breaker, which learns its outcome."""
        if not self.upstream_breaker.allow():
            raise BreakerOpen()
        self.stats.incr("upstream_calls")
        return self._through_breaker(self.upstream_breaker, "breaker_trips",
                                     lambda: self.upstream.enrich(text, deadline))

    def _through_breaker(self, breaker, trips_counter, operation):
        """operation(), its outcome told to BREAKER (which allowed it)."""
        ok = False
        try:
            result = operation()
            ok = True
            return result
        finally:
            # Whatever went wrong (even a MemoryError) counts as a failure, so
            # that a half-open trial always ends and never blocks the breaker.
            if ok:
                breaker.record_success()
            elif breaker.record_failure():
                self.stats.incr(trips_counter)

    def _db(self, operation):
        """operation() with the database retry policy, through the database
        breaker (fragile: one try, no breaker). While the breaker is open,
        DbBreakerOpen at once: reads go to the cache without waiting for
        retries to fail, and writes fail fast."""
        def retried():
            return with_retries(operation, self._retry, DB_ERRORS,
                                on_retry=lambda: self.stats.incr("db_retries"))
        try:
            if self.fragile:
                return retried()
            if not self.db_breaker.allow():
                self.stats.incr("db_breaker_rejections")
                raise DbBreakerOpen("database circuit breaker open")
            return self._through_breaker(self.db_breaker, "db_breaker_trips", retried)
        except DbBreakerOpen:
            raise
        except CorruptRow:
            self.stats.incr("corrupt_rows")
            self.stats.incr("db_failures")
            raise
        except DB_ERRORS:
            self.stats.incr("db_failures")
            raise

    def _read(self, operation):
        """A database read (retried) that must answer within db_read_timeout,
        or QueryTimeout: the caller falls back to the cache while the read
        finishes on its own thread. Fragile: one try, waited for as long as
        it takes."""
        if self.fragile:
            return self._db(operation)
        return self._run_with_deadline(lambda: self._db(operation), self.config.db_read_timeout)

    def _run_with_deadline(self, operation, timeout):
        """operation() on a database reader thread, waited for at most
        `timeout` seconds (then QueryTimeout; the read runs on regardless)."""
        outcome = {}
        done = threading.Event()

        def task():
            try:
                outcome["value"] = operation()
            except BaseException as exc:  # handed over to the waiting thread
                outcome["error"] = exc
            done.set()

        try:
            self._db_readers.submit(task)
        except Overloaded:
            self.stats.incr("db_timeouts")
            raise QueryTimeout("too many database reads already waiting") from None
        if not done.wait(timeout):
            self.stats.incr("db_timeouts")
            raise QueryTimeout(f"database read took longer than {timeout:g}s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _cache_fill(self, make_memory):
        """Cache a memory. Resilient: best effort, a MemoryError only costs
        the cache some entries. Fragile: the error fails the request."""
        if self.fragile:
            self.cache.put(make_memory())
            return
        try:
            self.cache.put(make_memory())
        except MemoryError:
            self.relieve_memory_pressure()

    def relieve_memory_pressure(self):
        """After a MemoryError: give back a tenth of the cache (not when
        fragile). Under real pressure (a memory limit) this frees room for
        requests; after a one-off failure it costs a few cache misses."""
        self.stats.incr("memory_errors")
        if not self.fragile and len(self.cache):
            self.stats.incr("pressure_evictions", self.cache.shrink(PRESSURE_EVICTION))


# --------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    """Routes requests to the server's Service and answers json."""

    server_version = "memstore/1"
    timeout = 5  # a client that stays silent must not hold a thread forever
    MEMORY_PATH = re.compile(r"^/memories/(\d+)$")

    @property
    def service(self):
        return self.server.service

    def handle(self):
        # Whatever fails outside the routes (out of memory while reading or
        # parsing the request, while writing the answer) ends this
        # connection, with a 503 if no answer was started; never the server.
        self._responded = False
        try:
            super().handle()
        except OSError:
            self.close_connection = True  # the client went away
        except Exception as exc:
            self.close_connection = True
            if out_of_memory(exc):
                self.service.relieve_memory_pressure()
            else:
                log_error(f"request handling: {traceback.format_exc()}")
            if not self._responded:
                error = "out of memory" if out_of_memory(exc) else "internal error"
                with contextlib.suppress(Exception):
                    self._send_json(503, {"error": error})

    def do_GET(self):
        self._serve(self._route_get)

    def do_POST(self):
        self._serve(self._route_post)

    def _route_get(self, path, query):
        if path == "/health":
            return self.service.health()
        if path == "/stats":
            return self.service.stats_body()
        if path == "/memories":
            return self.service.search(query.get("q", [""])[0])
        match = self.MEMORY_PATH.match(path)
        if match:
            return self.service.get_memory(int(match.group(1)))
        return 404, {"error": f"no route {path}"}

    def _route_post(self, path, _query):
        if path != "/memories":
            return (405 if self.MEMORY_PATH.match(path) or path in ("/health", "/stats") else 404,
                    {"error": f"cannot POST {path}"})
        text = self._read_text()
        if isinstance(text, tuple):
            return text  # an error response
        return self.service.create_memory(text)

    def _read_text(self):
        """The "text" of a json body, or an (status, body) error."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return 411, {"error": "Content-Length required"}
        if length > MAX_BODY or length < 0:
            return 413, {"error": "body too large"}
        try:
            body = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            return 400, {"error": "body is not json"}
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return 400, {"error": f'"text" must be a non-empty string of at most {MAX_TEXT} characters'}
        return text

    def _serve(self, route):
        """Run a route; every failure becomes a response, never a dead server."""
        started = time.monotonic()
        self.service.stats.incr("requests")
        status, body = self._run_route(route, urlsplit(self.path))
        self.service.stats.incr(f"responses_{status // 100}xx")
        self._send_json(status, body)
        if self.server.verbose:
            self._log_request(status, body, time.monotonic() - started)

    def _run_route(self, route, url):
        """(status, body) from the route. Out of memory: relieve the
        pressure, and run a GET (it changes nothing) once more, unless
        fragile."""
        attempts = 2 if self.command == "GET" and not self.service.fragile else 1
        for attempt in range(attempts):
            try:
                return route(url.path, parse_qs(url.query))
            except Unavailable as exc:
                return 503, {"error": str(exc)}
            except Exception as exc:
                if not out_of_memory(exc):  # a bug, or a library failing oddly: say so, keep serving
                    log_error(f"{self.command} {self.path}: {traceback.format_exc()}")
                    return 500, {"error": f"{type(exc).__name__}: {exc}"}
                self.service.relieve_memory_pressure()
        return 503, {"error": "out of memory"}

    def _send_json(self, status, body):
        data = json.dumps(body).encode("utf-8")
        self._responded = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _log_request(self, status, body, elapsed):
        notes = []
        if isinstance(body, dict):
            if body.get("source") == "cache":
                notes.append("from-cache")
            if body.get("degraded"):
                notes.append("degraded")
            if status >= 500 and "error" in body:
                notes.append(body["error"])
        line = f"{time.strftime('%H:%M:%S')} {self.command} {self.path} {status} {elapsed * 1000:.1f}ms"
        sys.stderr.write(" ".join([line] + notes) + "\n")

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # the default logs every request; we do it in _serve, if verbose


class MemstoreServer(HTTPServer):
    """An HTTP server whose requests run on a fixed pool of worker threads
    (see WorkerPool for why not a thread per request); holds the Service."""

    request_queue_size = 128  # the listen backlog: the default (5) drops connections in bursts

    def __init__(self, address, service, verbose, workers=HTTP_WORKERS):
        super().__init__(address, Handler)
        self.service = service
        self.verbose = verbose
        self._workers = WorkerPool("http", workers)

    def process_request(self, request, client_address):
        """Hand the connection to a worker; close it if all are busy."""
        try:
            self._workers.submit(lambda: self._process(request, client_address))
        except Overloaded:
            self.service.stats.incr("responses_5xx")
            self.shutdown_request(request)

    def _process(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def handle_error(self, request, client_address):
        # A handler raised past Handler.handle. The default prints a
        # traceback, which under memory pressure may itself fail.
        try:
            self.service.stats.incr("responses_5xx")
        except Exception:
            pass


def log_error(text):
    """One message on stderr; never raises (it runs when things go wrong)."""
    try:
        sys.stderr.write(f"memstore: {text.rstrip()}\n")
    except Exception:
        pass


def serve(server):
    """serve_forever, resumed if the accept loop itself runs out of memory.
    SystemExit (SIGTERM, SIGINT) ends it."""
    while True:
        try:
            server.serve_forever(poll_interval=0.2)
            return
        except MemoryError:
            server.service.relieve_memory_pressure()
            time.sleep(0.01)


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="memstore: memories in SQLite, tags from an upstream, an LRU cache.")
    p.add_argument("--port", type=int, default=8080,
                   help="HTTP port on 127.0.0.1 (0: pick one; printed as port=N)")
    p.add_argument("--db", default="memstore.db", help="SQLite database file (default %(default)s)")
    p.add_argument("--upstream", type=parse_host_port, required=True,
                   help="the enrichment upstream, HOST:PORT")
    p.add_argument("--cache-size", type=int, default=256,
                   help="LRU cache entries (default %(default)s; 0: no cache)")
    p.add_argument("--fragile", action="store_true",
                   help="no retries, circuit breakers, cache fallback, degraded writes or memory relief")
    p.add_argument("--busy-timeout", type=float, default=0.05,
                   help="seconds SQLite waits for a lock (default %(default)s)")
    p.add_argument("--db-read-timeout", type=float, default=0.3,
                   help="seconds before a read falls back to the cache (default %(default)s)")
    p.add_argument("--upstream-timeout", type=float, default=0.5,
                   help="seconds per upstream connect or answer (default %(default)s)")
    p.add_argument("--upstream-budget", type=float, default=0.6,
                   help="seconds for all attempts of one enrichment (default %(default)s)")
    p.add_argument("--sqlite-cache-pages", type=int, metavar="N",
                   help="SQLite's page cache per connection, in pages (default: SQLite's, 2 MiB); "
                        "small: reads go to the file more often")
    p.add_argument("--preload", type=int, default=0, metavar="N",
                   help="at start, top the database up to N generated memories (ids 1..N in a new "
                        "database) and checkpoint them into the database file")
    p.add_argument("--verbose", action="store_true", help="one line per request on stderr")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    config = Config(
        db_path=args.db, upstream=args.upstream, cache_size=args.cache_size, fragile=args.fragile,
        busy_timeout=args.busy_timeout, db_read_timeout=args.db_read_timeout,
        sqlite_cache_pages=args.sqlite_cache_pages,
        upstream_timeout=args.upstream_timeout, upstream_budget=args.upstream_budget,
    )
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 PID: every thread's stack on stderr
    service = Service(config)
    server = None
    try:
        try:
            service.start(args.preload)
        except DB_ERRORS as exc:
            print(f"memstore: cannot set up the database {args.db}: {exc}", file=sys.stderr)
            return 1
        server = MemstoreServer((HOST, args.port), service, args.verbose)
        print(f"port={server.server_address[1]}", flush=True)
        serve(server)
    except SystemExit:
        pass
    finally:
        if server is not None:
            server.server_close()
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
