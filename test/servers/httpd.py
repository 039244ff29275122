#!/usr/bin/env python3
"""A small HTTP server for slo_guard's tests (python3 standard library only).

Listens on 127.0.0.1 (port 0 unless --port), writes its port to --port-file
(and prints "PORT n"), serves until SIGTERM or --max-seconds.

Probe endpoints:
  /fast              200, body "ok"
  /slow?ms=N         200 after N ms (default 500)
  /status/N          status N
  /retry-after       429 with Retry-After: 2
  /reset             the connection is reset (RST), no answer
  /hang              never answers (until the server stops)
  /redirect[?to=URL] 302 to another host (default http://redirect-target.invalid/fast)
  /json[?count=N]    a JSON body: {"status":"ok","count":N (42),...}
  /big?kb=N          200 with N KiB of body
Recording receiver:
  /hook/<name>...    every request (any method) is appended, before it is
                     answered, to DIR/<name>.jsonl as one JSON object:
                     {"t", "method", "path", "headers", "body", "answer"};
                     the answer follows the hook's script: comma-separated
                     tokens used in turn, the last one repeating:
                       STATUS[;retry-after=S][;delay=MS]   e.g. 500, 429;retry-after=2
                       down     the connection is reset without an answer
                       hang     no answer until the server stops
                     Default script "200".
Benchmark mode (--asyncio): one asyncio event loop instead of a thread per
connection, serving only /fast and /slow?ms=N (HTTP/1.1 keep-alive), so
that a thousand concurrent slow requests cost no thread each.
Control:
  POST /_control/script/<name>   body = the new script (the hook restarts at its first token)
  GET  /_control/script/<name>   the script and how many requests it has answered
  POST /_control/clear/<name>    forget the hook's recorded requests
"""
import argparse
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

STOP = threading.Event()
LOCK = threading.Lock()
SCRIPTS = {}      # name -> [tokens]
ANSWERED = {}     # name -> count answered by the current script
DIR = "."


def safe_name(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:100] or "_"


def parse_token(tok):
    tok = tok.strip()
    if tok in ("down", "hang"):
        return {"kind": tok}
    parts = tok.split(";")
    ans = {"kind": "status", "status": int(parts[0])}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        k = k.strip()
        if k == "retry-after":
            ans["retry_after"] = v.strip()
        elif k == "delay":
            ans["delay_ms"] = int(v)
    return ans


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "slo-test-httpd/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_body(self, status, body=b"", ctype="text/plain", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset(self):
        # SO_LINGER 0 then close: the peer sees a connection reset
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def hang(self):
        while not STOP.wait(0.2):
            pass
        self.close_connection = True

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def handle_any(self):
        body = self.read_body()
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        path = u.path
        if path.startswith("/hook/"):
            return self.hook(path[len("/hook/"):].split("/")[0], body)
        if path.startswith("/_control/"):
            return self.control(path, body)
        if path == "/fast":
            return self.send_body(200, "ok")
        if path == "/slow":
            ms = int(q.get("ms", ["500"])[0])
            if STOP.wait(ms / 1000.0):
                return
            return self.send_body(200, "ok")
        m = re.fullmatch(r"/status/(\d{3})", path)
        if m:
            return self.send_body(int(m.group(1)), "status %s" % m.group(1))
        if path == "/retry-after":
            return self.send_body(429, "slow down", headers={"Retry-After": "2"})
        if path == "/reset":
            return self.reset()
        if path == "/hang":
            return self.hang()
        if path == "/redirect":
            to = q.get("to", ["http://redirect-target.invalid/fast"])[0]
            return self.send_body(302, "moved", headers={"Location": to})
        if path == "/json":
            count = int(q.get("count", ["42"])[0])
            doc = {"status": "ok", "count": count, "latency": {"p95": 12.5},
                   "data": {"__schema": {"queryType": {"name": "Query"},
                                         "types": [{"name": "machines"}, {"name": "users"}]}},
                   "items": [1, 2, 3]}
            return self.send_body(200, json.dumps(doc), ctype="application/json")
        if path == "/big":
            kb = int(q.get("kb", ["2048"])[0])
            return self.send_body(200, b"x" * (kb * 1024))
        return self.send_body(404, "no such endpoint")

    def hook(self, name, body):
        name = safe_name(name)
        with LOCK:
            script = SCRIPTS.get(name, ["200"])
            i = ANSWERED.get(name, 0)
            ANSWERED[name] = i + 1
            tok = script[min(i, len(script) - 1)]
            rec = {"t": time.time(), "method": self.command, "path": self.path,
                   "headers": {k: v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace"), "answer": tok}
            with open(os.path.join(DIR, name + ".jsonl"), "a") as f:
                f.write(json.dumps(rec) + "\n")
        ans = parse_token(tok)
        if ans["kind"] == "down":
            return self.reset()
        if ans["kind"] == "hang":
            return self.hang()
        if ans.get("delay_ms") and STOP.wait(ans["delay_ms"] / 1000.0):
            return
        headers = {}
        if "retry_after" in ans:
            headers["Retry-After"] = ans["retry_after"]
        elif ans["status"] == 429:
            headers["Retry-After"] = "2"
        return self.send_body(ans["status"], json.dumps({"ok": ans["status"] < 300}),
                              ctype="application/json", headers=headers)

    def control(self, path, body):
        m = re.fullmatch(r"/_control/(script|clear)/([^/]+)", path)
        if not m:
            return self.send_body(404, "no such control")
        what, name = m.group(1), safe_name(m.group(2))
        with LOCK:
            if what == "script" and self.command == "POST":
                toks = [t.strip() for t in body.decode().split(",") if t.strip()]
                try:
                    for t in toks:
                        parse_token(t)
                except ValueError:
                    return self.send_body(400, "bad script")
                SCRIPTS[name] = toks or ["200"]
                ANSWERED[name] = 0
            elif what == "clear":
                try:
                    os.remove(os.path.join(DIR, name + ".jsonl"))
                except FileNotFoundError:
                    pass
            doc = {"script": ",".join(SCRIPTS.get(name, ["200"])), "answered": ANSWERED.get(name, 0)}
        return self.send_body(200, json.dumps(doc), ctype="application/json")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096
    allow_reuse_address = True


async def serve_asyncio(port, port_file, max_seconds):
    import asyncio

    async def handle(reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                parts = line.decode("latin-1").split()
                clen = 0
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    if k.strip().lower() == "content-length":
                        clen = int(v.strip() or 0)
                if clen:
                    await reader.readexactly(clen)
                u = urlsplit(parts[1] if len(parts) > 1 else "/")
                if u.path == "/slow":
                    ms = int(parse_qs(u.query).get("ms", ["500"])[0])
                    await asyncio.sleep(ms / 1000.0)
                    status, body = 200, b"ok"
                elif u.path == "/fast":
                    status, body = 200, b"ok"
                else:
                    status, body = 404, b"no such endpoint (asyncio mode: /fast, /slow)"
                writer.write(b"HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                             % (status, len(body), body))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    port = srv.sockets[0].getsockname()[1]
    if port_file:
        with open(port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(port_file + ".tmp", port_file)
    print("PORT %d" % port, flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    if max_seconds > 0:
        loop.call_later(max_seconds, lambda: stop.done() or stop.set_result(None))
    await stop
    srv.close()


def main():
    global DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--dir", default=".")
    ap.add_argument("--max-seconds", type=float, default=900)
    ap.add_argument("--asyncio", action="store_true")
    a = ap.parse_args()
    if a.asyncio:
        import asyncio
        asyncio.run(serve_asyncio(a.port, a.port_file, a.max_seconds))
        os._exit(0)
    DIR = a.dir
    os.makedirs(DIR, exist_ok=True)
    srv = Server(("127.0.0.1", a.port), Handler)
    port = srv.server_address[1]

    def stop(*_):
        STOP.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Timer(a.max_seconds, stop).start() if a.max_seconds > 0 else None
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    print("PORT %d" % port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        STOP.set()
        srv.server_close()
    os._exit(0)


if __name__ == "__main__":
    main()
