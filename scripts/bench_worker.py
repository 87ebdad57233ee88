#!/usr/bin/env python3
"""Queue worker throughput (scripts/bench.sh N worker): tasks per second with 1 and 2
`resultpipe worker` processes (concurrency 1 each) on this machine, for small runs
(the 22-record sample) and for a 10 000-test run, inputs fetched over HTTP from a
loopback server, each task writing stackviz data and the report and publishing one
Treeherder job to Pulse (the local RabbitMQ). The queue is filled first; the clock
runs from the workers' start to the last task settled. Prints where a task's time
goes (fetch, build = parse + write, publish, the rest = ack and announce), the most
tasks unacknowledged at once (prefetch honoured: at most workers x prefetch), and the
largest peak RSS of a worker.

Usage: bench_worker.py BIN_DIR SMALL_INPUT BIG_INPUT OUT_DIR [runs]
Needs RabbitMQ on 127.0.0.1:5672 (guest/guest), rabbitmqctl and pika.
"""

import functools
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pika

URL = "amqp://guest:guest@127.0.0.1:5672/%2f"
REV = "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3"
JOBS_EXCHANGE = "exchange/rpbench/worker-jobs"
JOBS_QUEUE = "queue/rpbench/worker-jobs"


def serve(directory):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    handler = functools.partial(Quiet, directory=directory)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd.server_address[1]


def amqp(fn):
    c = pika.BlockingConnection(pika.URLParameters(URL))
    try:
        return fn(c.channel())
    finally:
        c.close()


def unacked(queue, stop, peak):
    while not stop.is_set():
        out = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "name", "messages_unacknowledged"],
            capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == queue and parts[1].isdigit():
                peak[0] = max(peak[0], int(parts[1]))
        stop.wait(0.3)


def scenario(bin_dir, port, name, input_name, tasks, workers, out_dir):
    queue = "rpbench.worker.%d.%d" % (os.getpid(), time.monotonic_ns())
    root = os.path.join(out_dir, "run")
    shutil.rmtree(root, ignore_errors=True)
    lines = []
    for i in range(tasks):
        lines.append(json.dumps({
            "id": "t%d" % i,
            "inputs": ["http://127.0.0.1:%d/%s" % (port, input_name)],
            "outputs": {
                "stackviz": {"dir": root + "/stackviz/{task_id}", "layout": "current"},
                "report": {"path": root + "/reports/{task_id}.html"},
                "treeherder": {
                    "job": {"project": "mozilla-central", "revision": REV, "job-name": "bench %d" % i},
                    "pulse": {"exchange": JOBS_EXCHANGE},
                },
            },
        }))
    task_file = os.path.join(out_dir, "tasks.jsonl")
    with open(task_file, "w") as f:
        f.write("\n".join(lines) + "\n")
    env = dict(os.environ, RESULTPIPE_AMQP_URL=URL, PULSE_URL=URL, CI="true")
    subprocess.run([bin_dir + "/resultpipe", "-q", "task", "submit", task_file, "--queue", queue],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=unacked, args=(queue, stop, peak), daemon=True)
    sampler.start()
    procs = []
    start = time.monotonic()
    for w in range(workers):
        out = open(os.path.join(out_dir, "w%d.out" % w), "w")
        p = subprocess.Popen(
            [bin_dir + "/resultpipe", "-q", "worker", "--queue", queue, "--concurrency", "1",
             "--no-announce"],
            env=env, stdout=out, stderr=subprocess.DEVNULL)
        procs.append((p, out))

    readers = [open(os.path.join(out_dir, "w%d.out" % w)) for w in range(workers)]
    done, partial = [], [""] * workers
    while len(done) < tasks:
        # only what was appended since the last look is read (the workers keep the CPUs)
        for w, f in enumerate(readers):
            text = partial[w] + f.read()
            lines = text.split("\n")
            partial[w] = lines.pop()
            done.extend(json.loads(l) for l in lines if l.strip())
        if time.monotonic() - start > 900:
            raise SystemExit("%s: only %d of %d tasks settled in 900 s" % (name, len(done), tasks))
        time.sleep(0.05)
    for f in readers:
        f.close()
    elapsed = time.monotonic() - start
    stop.set()
    rss = []
    for p, out in procs:
        with open("/proc/%d/status" % p.pid) as f:
            hwm = [l for l in f if l.startswith("VmHWM:")][0]
        rss.append(int(hwm.split()[1]) / 1024)
        p.send_signal(signal.SIGTERM)
    for p, out in procs:
        if p.wait(timeout=60) != 0:
            raise SystemExit("%s: a worker exited %d on SIGTERM" % (name, p.returncode))
        out.close()
    amqp(lambda ch: [ch.queue_delete(q) for q in (queue, queue + ".dead")] and ch.exchange_delete(queue + ".dlx"))
    bad = [d for d in done if d.get("outcome") != "done"]
    if bad:
        raise SystemExit("%s: %d task(s) not done: %s" % (name, len(bad), bad[0]))
    n = len(done)
    mean = lambda k: sum(d[k] for d in done) / n
    total = mean("total_ms")
    rest = total - mean("fetch_ms") - mean("build_ms") - mean("publish_ms")
    return {
        "name": name, "workers": workers, "tasks": n, "secs": elapsed, "rate": n / elapsed,
        "fetch": mean("fetch_ms"), "build": mean("build_ms"), "publish": mean("publish_ms"),
        "rest": rest, "total": total, "unacked": peak[0], "rss": max(rss),
    }


def main():
    bin_dir, small, big, out_dir = sys.argv[1:5]
    runs = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    srv = os.path.join(out_dir, "srv")
    os.makedirs(srv, exist_ok=True)
    for p in (small, big):
        dst = os.path.join(srv, os.path.basename(p))
        if not os.path.exists(dst):
            os.symlink(os.path.abspath(p), dst)
    port = serve(srv)

    def setup(ch):
        ch.exchange_declare(JOBS_EXCHANGE, "topic", durable=True)
        ch.queue_declare(JOBS_QUEUE)
        ch.queue_bind(JOBS_QUEUE, JOBS_EXCHANGE, "#")
    amqp(setup)
    for name, path, tasks in (("22-record run", small, 400), ("10k-test run", big, 8)):
        for workers in (1, 2):
            best = None
            for _ in range(runs):
                r = scenario(bin_dir, port, name, os.path.basename(path), tasks, workers, out_dir)
                amqp(lambda ch: ch.queue_purge(JOBS_QUEUE))
                if best is None or r["rate"] > best["rate"]:
                    best = r
            r = best
            print("worker (%s, %d worker%s x concurrency 1): %4d tasks in %6.2f s = %7.2f tasks/s; "
                  "per task %.0f ms: fetch %.0f, build %.0f, publish %.0f, ack+rest %.0f; "
                  "most unacked %d; peak RSS %.1f MiB"
                  % (r["name"], workers, "s" if workers > 1 else "", r["tasks"], r["secs"], r["rate"],
                     r["total"], r["fetch"], r["build"], r["publish"], r["rest"], r["unacked"], r["rss"]))
            sys.stdout.flush()
    amqp(lambda ch: ch.queue_delete(JOBS_QUEUE))
    shutil.rmtree(os.path.join(out_dir, "run"), ignore_errors=True)


if __name__ == "__main__":
    main()
