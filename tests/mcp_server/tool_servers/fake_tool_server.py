#!/usr/bin/env python3
"""A scripted MCP tool server for the tool-server tests: newline-delimited JSON-RPC over stdio.

Standard library only. Behaviour is chosen by flags, so one script stands in for a healthy
server and for each way a real one fails:

  (none)                  a normal server with the tools listed in TOOLS
  --exit-at-initialize    prints a reason (and FAKE_TOKEN) to stderr and exits 3 instead of
                          answering initialize
  --hang-at-initialize    never answers initialize
  --crash-on-call N       exits (status 7) on this process's Nth tools/call
  --hang-on-call N        never answers this process's Nth tools/call
  --is-error TEXT         every tools/call returns an isError result with TEXT
  --rpc-error CODE:TEXT   every tools/call returns a JSON-RPC error
  --oversized BYTES       "lookup" returns BYTES characters of text
  --garbage               prints lines that are not JSON before every reply
  --pid-dir DIR           each process creates DIR/<pid> when it starts
  --concurrent            runs each tools/call in a thread of its own and writes replies under
                          a lock, so calls overlap and replies may come out of order (like a
                          real asynchronous server); the "stats" tool reports the overlap

The "stats" tool returns {"max_concurrent": the most tools/call that ran at once,
"cancelled": the request ids of every notifications/cancelled received}.
"""

import argparse
import json
import os
import sys
import threading
import time

TOOLS = [
    {
        "name": "lookup",
        "description": "Looks a key up.",
        "inputSchema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"key": {"type": "string"}},
            "required": ["key"],
        },
    },
    {
        "name": "slow",
        "description": "Sleeps for the given seconds, then answers.",
        "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}},
    },
    {"name": "pid", "description": "Returns the server's process id.",
     "inputSchema": {"type": "object"}},
    {"name": "env", "description": "Returns the server's environment and directory.",
     "inputSchema": {"type": "object"}},
    {"name": "mixed", "description": "Returns text, an image, audio and a resource link.",
     "inputSchema": {"type": "object"}},
    {"name": "structured", "description": "Returns only structured content.",
     "inputSchema": {"type": "object"}},
    {"name": "bare", "description": "A tool listed without an input schema."},
    {"name": "secret", "description": "A tool no tenant allows.",
     "inputSchema": {"type": "object"}},
    {"name": "stats", "description": "Reports calls that overlapped and cancellations seen.",
     "inputSchema": {"type": "object"}},
]


class Stats:
    """What the tests ask the server about: how many calls ran at once, what was cancelled."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = 0
        self.max_concurrent = 0
        self.cancelled = []

    def call_started(self):
        with self.lock:
            self.running += 1
            self.max_concurrent = max(self.max_concurrent, self.running)

    def call_ended(self):
        with self.lock:
            self.running -= 1

    def note_cancelled(self, request_id):
        with self.lock:
            self.cancelled.append(request_id)

    def report(self):
        with self.lock:
            return {"max_concurrent": self.max_concurrent, "cancelled": list(self.cancelled)}


STATS = Stats()
WRITE_LOCK = threading.Lock()


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exit-at-initialize", action="store_true")
    parser.add_argument("--hang-at-initialize", action="store_true")
    parser.add_argument("--crash-on-call", type=int, default=0)
    parser.add_argument("--hang-on-call", type=int, default=0)
    parser.add_argument("--is-error")
    parser.add_argument("--rpc-error")
    parser.add_argument("--oversized", type=int, default=0)
    parser.add_argument("--garbage", action="store_true")
    parser.add_argument("--pid-dir")
    parser.add_argument("--concurrent", action="store_true")
    return parser.parse_args()


def send(message, options):
    with WRITE_LOCK:  # one whole line at a time, whichever thread answers
        if options.garbage:
            sys.stdout.write("garbage: this is not JSON\n{\"broken\": \n42\n")
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def text_result(text):
    return {"content": [{"type": "text", "text": text}]}


def run_tool(name, arguments):
    if name == "lookup":
        return text_result("value of " + str(arguments.get("key")))
    if name == "slow":
        time.sleep(float(arguments.get("seconds", 0)))
        return text_result("slept " + json.dumps(arguments, sort_keys=True))
    if name == "pid":
        return text_result(str(os.getpid()))
    if name == "env":
        return text_result(json.dumps({"env": dict(os.environ), "cwd": os.getcwd()}))
    if name == "mixed":
        return {"content": [
            {"type": "text", "text": "chart follows"},
            {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"},
            {"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"},
            {"type": "resource_link", "uri": "file:///data/r.txt", "name": "r.txt"},
        ]}
    if name == "structured":
        return {"content": [], "structuredContent": {"answer": 42}}
    if name == "bare":
        return text_result("bare ok")
    if name == "secret":
        return text_result("classified")
    if name == "stats":
        return text_result(json.dumps(STATS.report()))
    return None


def answer_call(request, calls, options):
    """The reply to one tools/call, or None when this call must never be answered."""
    params = request.get("params") or {}
    if calls == options.crash_on_call:
        sys.stderr.write("fake_tool_server: crashing on call %d\n" % calls)
        sys.stderr.flush()
        os._exit(7)
    if calls == options.hang_on_call:
        time.sleep(3600)
        return None
    if options.rpc_error:
        code, _, text = options.rpc_error.partition(":")
        return {"error": {"code": int(code), "message": text}}
    if options.is_error is not None:
        return {"result": {"content": [{"type": "text", "text": options.is_error}],
                           "isError": True}}
    name = params.get("name")
    if name == "lookup" and options.oversized:
        return {"result": text_result("x" * options.oversized)}
    STATS.call_started()
    try:
        result = run_tool(name, params.get("arguments") or {})
    finally:
        STATS.call_ended()
    if result is None:
        return {"error": {"code": -32602, "message": "Unknown tool: %s" % name}}
    return {"result": result}


def answer(request, calls, options):
    method = request.get("method")
    if method == "initialize":
        if options.exit_at_initialize:
            sys.stderr.write("fake_tool_server: fatal: no configuration (token=%s)\n"
                             % os.environ.get("FAKE_TOKEN", ""))
            sys.stderr.flush()
            sys.exit(3)
        if options.hang_at_initialize:
            time.sleep(3600)
        version = (request.get("params") or {}).get("protocolVersion", "2025-06-18")
        return {"result": {"protocolVersion": version, "capabilities": {"tools": {}},
                           "serverInfo": {"name": "fake_tool_server", "version": "1.0"}}}
    if method == "tools/list":
        return {"result": {"tools": TOOLS}}
    if method == "ping":
        return {"result": {}}
    if method == "tools/call":
        return answer_call(request, calls, options)
    return {"error": {"code": -32601, "message": "Method not found: %s" % method}}


def reply_to(request, calls, options):
    reply = answer(request, calls, options)
    if reply is None:
        return
    reply.update({"jsonrpc": "2.0", "id": request["id"]})
    send(reply, options)


def main():
    options = parse_args()
    if options.pid_dir:
        open(os.path.join(options.pid_dir, str(os.getpid())), "w").close()
    sys.stderr.write("fake_tool_server: started\n")
    sys.stderr.flush()
    calls = 0
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0
        try:
            request = json.loads(line)
        except ValueError:
            continue
        if "id" not in request:
            if request.get("method") == "notifications/cancelled":
                STATS.note_cancelled((request.get("params") or {}).get("requestId"))
            continue  # notifications need no answer
        if request.get("method") != "tools/call":
            reply_to(request, calls, options)
            continue
        calls += 1
        if options.concurrent:
            # Daemon threads: a call that hangs must not keep the process alive at exit.
            threading.Thread(target=reply_to, args=(request, calls, options), daemon=True).start()
        else:
            reply_to(request, calls, options)


if __name__ == "__main__":
    sys.exit(main())
