#!/usr/bin/env python3
"""The SSE server for tests/browser.rs: a page in headless Chromium reads
these feeds across origins, so every answer carries CORS headers.

Each test passes its own `?session=` so that the server can count its
connections. Prints the port it listens on (127.0.0.1, port 0 unless
`--port` says), then serves until killed.
"""

import argparse
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "last-event-id, cache-control, content-type, authorization",
    "Access-Control-Expose-Headers": "x-feed",
    "Access-Control-Max-Age": "600",
}

lock = threading.Lock()
# (path, session) -> how many requests came, and the Last-Event-ID of each.
seen = {}


def record(path, session, last_event_id):
    with lock:
        log = seen.setdefault((path, session), [])
        log.append(last_event_id)
        return len(log)


class Handler(BaseHTTPRequestHandler):
    # Close-delimited bodies: each event is written and flushed as it goes.
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def start(self, status, content_type="text/event-stream", extra=None):
        self.send_response(status)
        for name, value in CORS.items():
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def send(self, text):
        self.wfile.write(text.encode())
        self.wfile.flush()

    def do_OPTIONS(self):
        self.start(204, content_type=None)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        session = query.get("session", "")
        last_event_id = self.headers.get("Last-Event-ID")
        if url.path == "/count":
            with lock:
                log = seen.get((query.get("path", ""), session), [])
            body = json.dumps({"requests": len(log), "last_event_ids": log})
            self.start(200, "application/json")
            self.send(body)
            return
        n = record(url.path, session, last_event_id)
        if url.path == "/events":
            # Messages, a named multi-line event with an id, a comment, and
            # events sent apart in time; then the body ends.
            self.start(200, extra={"X-Feed": "browser-test"})
            self.send(": hello\n\ndata: first\n\n")
            time.sleep(0.05)
            self.send("event: tick\ndata: 1\ndata: 2\nid: 7\n\n")
            time.sleep(0.05)
            self.send("data: last\n\n")
        elif url.path == "/resume":
            # A short reconnection time, an id, the end of the body; the
            # reconnect must carry that id; then 204 stops the client.
            if n == 1:
                self.start(200)
                self.send("retry: 50\nid: 1\ndata: first\n\n")
            elif n == 2:
                self.start(200)
                self.send(f"id: 2\ndata: resumed after {last_event_id}\n\n")
            else:
                self.start(204, content_type=None)
        elif url.path == "/silent":
            # One event, then silence: only an idle timeout (a browser
            # timer) makes the client reconnect.
            self.start(200)
            if n == 1:
                self.send("retry: 10\ndata: before the silence\n\n")
                time.sleep(5)
            else:
                self.send("data: after the reconnect\n\n")
                time.sleep(5)
        elif url.path == "/denied":
            self.start(401, "text/plain")
            self.send("token expired")
        else:
            self.start(404, "text/plain")
            self.send("no such feed")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        record(url.path, query.get("session", ""), self.headers.get("Last-Event-ID"))
        if url.path != "/chat":
            self.start(404, "text/plain")
            return
        # An LLM-style stream: one event per word of the prompt, then the end.
        self.start(200)
        for word in request.get("prompt", "").split():
            self.send("data: " + json.dumps({"token": word}) + "\n\n")
            time.sleep(0.02)
        self.send("data: [DONE]\n\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
