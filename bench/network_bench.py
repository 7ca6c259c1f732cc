#!/usr/bin/env python3
"""Committed transactions per second and commit latency of a network of
CometBFT v0.38 validators (four unless --validators says otherwise) on this
machine: once with ledgerd beside each engine, once with CometBFT's built-in
kvstore as the application, in the same run, with transactions of the same
size.

    bench/network_bench.py [--txs 2000] [--concurrency 16] [--rate TX_PER_S]
                           [--validators 4]

Both networks are made by scripts/run-network.sh --init-only (homes in a
temporary directory, nodes on 127.0.61.x and 127.0.62.x, the same config).
ledgerd: signed CREATEs (ledgerctl) POSTed with mode=sync round-robin to the
four HTTP APIs, `--concurrency` requests in flight; a transaction is committed
when node 0's event stream delivers it. kvstore: `key=value` transactions
padded to the mean size of those CREATEs, broadcast_tx_sync round-robin to the
four engine RPCs; committed when node 0's engine reports the block holding it
(NewBlock on its /websocket). Latency: commit minus the start of the request.
Throughput: transactions over the time from the first request to the last
commit (with --rate, the offered rate bounds it). CPU: user+system seconds
of the engines and of the ledgerd processes over the load, per 1,000
transactions, and ledgerd's share of the two. Prints a Markdown table.
"""

import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import websocket

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "network"))
import network_test as nt  # noqa: E402


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_load(nodes, payloads, concurrency, submit, rate):
    """Submits every payload (round-robin over nodes, `concurrency` at once,
    at most `rate` per second when rate > 0); returns submit start times by key."""
    started = {}
    errors = []
    begin = time.monotonic() + 0.1

    def one(position):
        key, body = payloads[position]
        if rate > 0:
            delay = begin + position / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        node = nodes[position % len(nodes)]
        started[key] = time.monotonic()
        status = submit(node, body)
        if status not in (200, 202):
            errors.append((key, status))

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(len(payloads))))
    if errors:
        raise SystemExit(f"{len(errors)} submissions failed, first: {errors[:3]}")
    return started


def cpu_seconds(pid):
    """User+system CPU seconds of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_of(processes):
    return sum(cpu_seconds(p.pid) for p in processes if p is not None)


def nodes_named(validators):
    return f"{validators} validator" + ("s" if validators != 1 else "")


def summarize(name, started, committed, engine_cpu=0.0, ledgerd_cpu=0.0):
    missing = set(started) - set(committed)
    if missing:
        raise SystemExit(f"{name}: {len(missing)} transactions were not committed")
    latencies = [(committed[k] - started[k]) * 1000 for k in started]
    span = max(committed.values()) - min(started.values())
    return {"name": name, "txs": len(started), "tps": len(started) / span,
            "p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99),
            "mean": statistics.mean(latencies),
            "engine_cpu": engine_cpu * 1000 / len(started),
            "ledgerd_cpu": ledgerd_cpu * 1000 / len(started)}


def bench_ledgerd(args, txs):
    network = nt.Network(args, "127.0.61.1", validators=args.validators)
    try:
        network.start()
        committed = {}
        done = threading.Event()

        def follow():
            ws = websocket.create_connection(network.nodes[0].stream_url(1), timeout=1)
            deadline = time.monotonic() + 600
            while len(committed) < len(txs) and time.monotonic() < deadline:
                try:
                    message = json.loads(ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                committed.setdefault(message["transaction_id"], time.monotonic())
            ws.close()
            done.set()

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        time.sleep(0.5)
        payloads = [(tx["id"], nt.tx_bytes(tx)) for tx in txs]
        engines = [node.engine for node in network.nodes]
        ledgerds = [node.ledgerd for node in network.nodes]
        engine_cpu, ledgerd_cpu = cpu_of(engines), cpu_of(ledgerds)
        started = run_load(network.nodes, payloads, args.concurrency,
                           lambda node, body: node.post(body, "sync", timeout=60)[0], args.rate)
        done.wait(timeout=600)
        engine_cpu, ledgerd_cpu = cpu_of(engines) - engine_cpu, cpu_of(ledgerds) - ledgerd_cpu
        return summarize(f"ledgerd ({nodes_named(args.validators)})", started, committed,
                         engine_cpu, ledgerd_cpu)
    finally:
        network.stop()
        network.cleanup()


def bench_kvstore(args, size, count):
    network = nt.Network(args, "127.0.62.1", validators=args.validators)
    try:
        for node in network.nodes:
            log_file = open(os.path.join(node.home, "engine.log"), "ab")
            node.engine = subprocess.Popen(
                [network.engine_bin, "node", "--home", node.home, "--proxy_app=kvstore",
                 "--abci=socket"], stdout=log_file, stderr=subprocess.STDOUT)
            log_file.close()
        for node in network.nodes:
            nt.wait_for(f"node{node.index}'s RPC", lambda n=node: n.rpc("/status"), 40)
        committed = {}
        done = threading.Event()

        def follow():
            ws = websocket.create_connection(f"ws://{network.nodes[0].ip}:26657/websocket", timeout=1)
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe",
                                "params": {"query": "tm.event='NewBlock'"}}))
            deadline = time.monotonic() + 600
            while len(committed) < count and time.monotonic() < deadline:
                try:
                    message = json.loads(ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                now = time.monotonic()
                block = (((message.get("result") or {}).get("data") or {}).get("value") or {}).get("block")
                for tx in ((block or {}).get("data") or {}).get("txs") or []:
                    key = hashlib.sha256(base64.b64decode(tx)).hexdigest()
                    committed.setdefault(key, now)
            ws.close()
            done.set()

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        time.sleep(0.5)
        payloads = []
        for k in range(count):
            prefix = f"bench{k:08d}="
            raw = (prefix + "v" * max(1, size - len(prefix))).encode()
            payloads.append((hashlib.sha256(raw).hexdigest(),
                             json.dumps({"jsonrpc": "2.0", "id": k, "method": "broadcast_tx_sync",
                                         "params": {"tx": base64.b64encode(raw).decode()}})))

        def submit(node, body):
            status, reply = nt.http_request(node.ip, 26657, "POST", "/", body=body, timeout=60)
            if status == 200 and json.loads(reply).get("result", {}).get("code", 0) != 0:
                return 400
            return status

        engines = [node.engine for node in network.nodes]
        engine_cpu = cpu_of(engines)
        started = run_load(network.nodes, payloads, args.concurrency, submit, args.rate)
        done.wait(timeout=600)
        return summarize(f"kvstore ({nodes_named(args.validators)})", started, committed,
                         cpu_of(engines) - engine_cpu)
    finally:
        network.stop()
        network.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--txs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0,
                        help="at most this many submissions per second (0: as fast as they go)")
    parser.add_argument("--ledgerd", default=os.path.join(REPO, "build", "bin", "ledgerd"))
    parser.add_argument("--ledgerctl", default=os.path.join(REPO, "build", "bin", "ledgerctl"))
    args = parser.parse_args()
    args.keep = False

    work = os.path.join("/tmp", f"network-bench-{os.getpid()}")
    maker = nt.Transactions(args.ledgerctl, work, f"bench-{os.getpid()}")
    nt.log(f"signing {args.txs} CREATEs with ledgerctl")
    txs = maker.creates(args.txs, workers=4)
    size = round(statistics.mean(len(nt.tx_bytes(tx)) for tx in txs))
    nt.log(f"mean transaction size {size} bytes")
    results = [bench_ledgerd(args, txs), bench_kvstore(args, size, args.txs)]
    subprocess.run(["rm", "-rf", work])
    pace = f"at most {args.rate:g}/s" if args.rate > 0 else "unpaced"
    print(f"\n{args.txs} transactions of {size} bytes, {args.concurrency} requests in flight, "
          f"{pace}, timeout_commit 300ms\n")
    print("| application | committed tx/s | latency p50 | p99 | mean "
          "| engine CPU s/1000 tx | ledgerd CPU s/1000 tx | ledgerd share |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        total = r["engine_cpu"] + r["ledgerd_cpu"]
        share = f"{100 * r['ledgerd_cpu'] / total:.0f} %" if r["ledgerd_cpu"] else "—"
        print(f"| {r['name']} | {r['tps']:.0f} | {r['p50']:.0f} ms | {r['p99']:.0f} ms | "
              f"{r['mean']:.0f} ms | {r['engine_cpu']:.3f} | {r['ledgerd_cpu']:.3f} | {share} |")
    ledgerd, kvstore = results
    print(f"\nledgerd's committed tx/s: {100 * ledgerd['tps'] / kvstore['tps']:.0f} % of kvstore's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
