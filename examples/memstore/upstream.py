#!/usr/bin/env python3
"""The "enrichment" upstream of memstore: a tiny line protocol over TCP.

    ENRICH <text>\\n   ->  OK <tag>,<tag>,...\\n   (possibly "OK \\n": no tags)
    PING\\n            ->  PONG\\n
    anything else      ->  ERR <reason>\\n

A client may send several requests on one connection; memstore opens one
connection per call. Tags are derived from the text alone (its most frequent
longer words and a size class), so the same text always gets the same tags.

Usage: upstream.py [PORT]     (PORT 0 or absent: pick a free one)

It prints `port=N` on stdout once it listens, and exits cleanly on SIGTERM
or SIGINT. Standard library only.
"""
import collections
import re
import signal
import socketserver
import sys

HOST = "127.0.0.1"
MAX_LINE = 64 * 1024  # a longer request line is refused
MAX_WORD_TAGS = 3
WORD_RE = re.compile(r"[a-z0-9]+")
# Words too common to say anything about a text.
STOP_WORDS = frozenset(
    "the and that with this from have were they their there about would which "
    "into than then them these those what when where while your".split()
)


def derive_tags(text):
    """The tags of TEXT: its most frequent words of 4+ letters (stop words
    left out, ties broken alphabetically) and a size class `len:short`,
    `len:medium` or `len:long`."""
    words = [w for w in WORD_RE.findall(text.lower()) if len(w) >= 4 and w not in STOP_WORDS]
    counts = collections.Counter(words)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    tags = [word for word, _ in ranked[:MAX_WORD_TAGS]]
    n = len(text)
    tags.append("len:short" if n < 40 else "len:medium" if n < 200 else "len:long")
    return tags


def answer(line):
    """The response line (without its newline) to one request line."""
    if line == "PING":
        return "PONG"
    if line.startswith("ENRICH "):
        return "OK " + ",".join(derive_tags(line[len("ENRICH "):]))
    return "ERR unknown command"


class EnrichHandler(socketserver.StreamRequestHandler):
    """Serves one connection: one response line per request line, until the
    client closes it or stays silent for `timeout` seconds."""

    timeout = 10  # an idle client must not hold a thread forever

    def handle(self):
        try:
            while True:
                raw = self.rfile.readline(MAX_LINE + 1)
                if not raw:
                    return  # the client closed the connection
                if len(raw) > MAX_LINE:
                    self.wfile.write(b"ERR line too long\n")
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.wfile.write((answer(line) + "\n").encode("utf-8"))
        except OSError:
            pass  # reset, timeout, broken pipe: the client is gone


class EnrichServer(socketserver.ThreadingTCPServer):
    """Thread per connection; threads do not keep the process alive."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # bursts of connections must not overflow the backlog

    def handle_error(self, request, client_address):
        # The default prints a traceback; a failing connection is routine here.
        pass


def on_signal(signum, _frame):
    """SIGTERM/SIGINT: leave serve_forever() through an exception."""
    raise SystemExit(128 + signum)


def main(argv):
    port = int(argv[1]) if len(argv) > 1 else 0
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = EnrichServer((HOST, port), EnrichHandler)
    print(f"port={server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
