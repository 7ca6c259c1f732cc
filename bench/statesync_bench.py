#!/usr/bin/env python3
"""How long a new node takes to serve a running network's ledger: by state
sync (a snapshot, then the blocks after it) versus by block sync (every block
from the first).

    bench/statesync_bench.py [--txs 10000 40000] [--first-ip 127.0.56.1] [--keep]

For each chain size: four CometBFT v0.38 validators beside four ledgerd
(--snapshot-interval 500), homes on /dev/shm, made as tests/network does;
ledgerd_load posts the transactions to node 0 while heights pass quickly
(empty blocks, short timeouts), until the first snapshot after the load. The
validators then restart without empty blocks, so the chain stands still
while the new nodes join and both chase the same height. A full node with
[statesync] enable = true joins, then (after it stopped) a plain full node
that block-syncs from height 1. Each is timed from its start until its
ledgerd has committed the network's height and its HTTP API answers a
transaction of the last block with transactions. Prints one line per node
and a Markdown table at the end (bench/RESULTS.md, "State sync versus block
sync").
"""

import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "network"))
import network_test as nt  # noqa: E402

REPO = nt.REPO


def last_transaction(node, height):
    """The id of the last transaction in blocks 1..height, and its height."""
    for high in range(height, 0, -20):
        low = max(1, high - 19)
        metas = node.rpc(f"/blockchain?minHeight={low}&maxHeight={high}")["block_metas"]
        for meta in sorted(metas, key=lambda m: -int(m["header"]["height"])):
            if int(meta["num_txs"]) > 0:
                at = int(meta["header"]["height"])
                stream = node.read_stream(at, 10**6, timeout=3)
                return [m for m in stream if m["height"] == at][-1]["transaction_id"], at
    raise nt.Failed("no transaction in the chain")


def time_join(network, joiner, target, tx_id, timeout=600):
    """Seconds from the joiner's start until it serves the chain up to target."""
    started = time.monotonic()
    joiner.start()
    nt.wait_for(f"node{joiner.index} to serve height {target}",
                lambda: joiner.app_height() >= target and joiner.has_transaction(tx_id),
                timeout, interval=0.1)
    elapsed = time.monotonic() - started
    joiner.stop()
    return elapsed


def measure(args, txs, first_ip):
    network = nt.Network(args, first_ip, in_memory=True)
    try:
        validators = network.nodes[:4]
        network.ledgerd_args = ["--snapshot-interval", str(args.interval)]
        for node in validators:
            nt.fast_heights(node.home)
        network.start()
        nt.log(f"{txs} transactions: posting with ledgerd_load")
        # In runs of at most 20,000: one run of 40,000 against a validator
        # did not see its last commits on the stream (it waits for them).
        for start in range(0, txs, 20000):
            figures = nt.run_load(args, validators[0], min(20000, txs - start))
        height = validators[0].height()
        snapshot = (height // args.interval + 1) * args.interval
        nt.wait_for(f"a snapshot at height {snapshot} on every validator",
                    lambda: all(snapshot in nt.snapshot_heights(n) for n in validators), 300,
                    interval=0.5)
        # A chain that stands still: no empty blocks from now on.
        network.stop()
        for node in validators:
            config = os.path.join(node.home, "config", "config.toml")
            nt.set_toml(config, "consensus", "create_empty_blocks", "false")
        network.start()
        target = max(n.height() for n in validators)
        tx_id, tx_height = last_transaction(validators[0], target)
        chunks = len([f for f in nt.snapshot_files(validators[0], snapshot)
                      if f.startswith("chunk-")])
        size = sum(len(b) for b in nt.snapshot_files(validators[0], snapshot).values())
        nt.log(f"chain: {txs} transactions ({figures.get('load.committed_tx_per_s')} tx/s), "
               f"{target} heights, last transaction at {tx_height}; snapshot at {snapshot}: "
               f"{chunks} chunks, {size} bytes")

        by_snapshot = nt.add_state_sync_node(network, validators[:2])
        state_sync = time_join(network, by_snapshot, target, tx_id)
        restored = nt.restored_height(by_snapshot)
        nt.check(restored == snapshot, f"the state-sync node restored {restored}, not {snapshot}")
        nt.log(f"state sync: serving height {target} after {state_sync:.1f} s "
               f"(restored {restored}, then {target - restored} blocks)")

        by_blocks = network.add_full_node()
        block_sync = time_join(network, by_blocks, target, tx_id)
        nt.check(nt.restored_height(by_blocks) is None, "the block-sync node restored a snapshot")
        nt.log(f"block sync: serving height {target} after {block_sync:.1f} s")
        return {"txs": txs, "heights": target, "snapshot": snapshot, "bytes": size,
                "chunks": chunks, "state_sync": state_sync, "block_sync": block_sync}
    finally:
        network.stop()
        network.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ledgerd", default=os.path.join(REPO, "build", "bin", "ledgerd"))
    parser.add_argument("--ledgerd-load", default=None)
    parser.add_argument("--txs", type=int, nargs="+", default=[10000, 40000])
    parser.add_argument("--interval", type=int, default=500, help="--snapshot-interval")
    parser.add_argument("--first-ip", default="127.0.56.1")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not args.ledgerd_load:
        args.ledgerd_load = os.path.join(os.path.dirname(os.path.abspath(args.ledgerd)),
                                         "ledgerd_load")
    signal.signal(signal.SIGTERM, nt._terminate)
    results = []
    for txs in args.txs:
        results.append(measure(args, txs, args.first_ip))
        print(json.dumps(results[-1]), flush=True)
    print("| transactions | heights | snapshot (height, size) | state sync | block sync |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['txs']:,} | {r['heights']:,} | {r['snapshot']:,}, "
              f"{r['bytes'] / 2**20:.1f} MiB in {r['chunks']} chunks | "
              f"{r['state_sync']:.1f} s | {r['block_sync']:.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
