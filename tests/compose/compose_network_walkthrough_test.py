#!/usr/bin/python3
"""Runs the walkthrough of docker-compose.network.yml (four validators, four
ledgerd), without Docker.

Starts the file with tests/compose/compose_runner.py (fresh volumes): the init
service runs `cometbft testnet` to its end, then the eight services start.
Then, as a client on the host would, through the published ports:
1. every ledgerd's 9984/9985 is published on its own host ports (9984/9985,
   9994/9995, 10004/10005, 10014/10015), the ABCI port on none, and each API
   root advertises the stream URL of its own published port;
2. a CREATE POSTed to node 0 with mode=commit arrives on node 3's stream;
3. a TRANSFER POSTed to node 3 with mode=commit arrives on node 0's stream,
   and is readable from node 1 and node 2 (once they commit that block);
4. stopped (volumes kept) and started again, init keeps the homes and the
   chain continues: the transfer is still there, a new CREATE commits.
Any failed step fails the test, and so does running it without root.

    tests/compose/compose_network_walkthrough_test.py --ledgerd build/bin/ledgerd \\
        --ledgerctl build/bin/ledgerctl [--compose-file docker-compose.network.yml]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websocket
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compose_walkthrough_test as walk  # noqa: E402  (step, run, curl, curl_json)

RUNNER = HERE / "compose_runner.py"
# (HTTP API, stream) host ports of node 0..3.
NODE_PORTS = [(9984, 9985), (9994, 9995), (10004, 10005), (10014, 10015)]
StepFailed = walk.StepFailed
step, run, curl, curl_json = walk.step, walk.run, walk.curl, walk.curl_json


def open_stream(node, from_height=None):
    """Opens node's stream at the URL its API root advertises."""
    root = curl_json(f"http://127.0.0.1:{NODE_PORTS[node][0]}/api/v1/")
    url = root.get("streams", "")
    expected = f"ws://localhost:{NODE_PORTS[node][1]}/api/v1/streams/valid_transactions"
    if url != expected:
        raise StepFailed(f"node {node} advertises {url!r}, expected {expected!r}")
    if from_height is not None:
        url += f"?from_height={from_height}"
    try:
        return websocket.create_connection(url, timeout=30)
    except (OSError, websocket.WebSocketException) as e:
        raise StepFailed(f"cannot open node {node}'s stream {url}: {e}") from e


def expect_on_stream(stream, node, tx_id, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        stream.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            message = json.loads(stream.recv())
        except (websocket.WebSocketTimeoutException, OSError) as e:
            raise StepFailed(f"{tx_id} did not arrive on node {node}'s stream: {e}") from e
        print(f"  node {node} stream: {json.dumps(message)}")
        if message.get("transaction_id") == tx_id:
            return message


def post_commit(node, path):
    status, body = curl("-X", "POST", "-H", "Content-Type: application/json",
                        "--data-binary", f"@{path}",
                        f"http://127.0.0.1:{NODE_PORTS[node][0]}/api/v1/transactions?mode=commit")
    if status != 202:
        raise StepFailed(f"POST to node {node} ?mode=commit answered {status}: {body}")


def walkthrough(args, work):
    compose = ["--file", args.compose_file, "--work-dir", str(work / "compose")]

    step(f"up -d {args.compose_file}")
    print(run([sys.executable, RUNNER, "up", "--detach", *compose, "--ledgerd", args.ledgerd,
               "--timeout", "90"]), end="")
    state = json.loads(run([sys.executable, RUNNER, "ps", "--json", *compose]))
    if "network homes created" not in (work / "compose" / "logs" / "init.log").read_text():
        raise StepFailed("the init service did not create the network homes")

    step("published ports: 9984/9985 .. 10014/10015 for ledgerd0..3; ABCI on none")
    for node, (http_port, ws_port) in enumerate(NODE_PORTS):
        published = {(h, c) for _, h, c in state["services"][f"ledgerd{node}"]["published"]}
        if published != {(http_port, 9984), (ws_port, 9985)}:
            raise StepFailed(f"ledgerd{node} publishes {sorted(published)}")
    everything = {(h, c) for s in state["services"].values() for _, h, c in s["published"]}
    if any(c == walk.ABCI_PORT or h == walk.ABCI_PORT for h, c in everything):
        raise StepFailed(f"an ABCI port is published: {sorted(everything)}")

    step("open node 3's and node 0's advertised streams")
    stream3 = open_stream(3)
    stream0 = open_stream(0)

    step("ledgerctl create; POST to node 0 (127.0.0.1:9984) ?mode=commit")
    for who in ("alice", "bob"):
        (work / f"{who}.json").write_text(run([args.ledgerctl, "keygen"]))
    create_text = run([args.ledgerctl, "create", "--key-file", str(work / "alice.json"),
                       "--asset", '{"name":"bicycle","network":"four validators"}'])
    (work / "create.json").write_text(create_text)
    create = json.loads(create_text)
    post_commit(0, work / "create.json")

    step("the CREATE arrives on node 3's stream (127.0.0.1:10015)")
    message = expect_on_stream(stream3, 3, create["id"])
    if message.get("asset_id") != create["id"]:
        raise StepFailed(f"unexpected asset id: {message}")

    step("ledgerctl transfer; POST to node 3 (127.0.0.1:10014) ?mode=commit")
    bob = json.loads((work / "bob.json").read_text())
    transfer_text = run([args.ledgerctl, "transfer", "--key-file", str(work / "alice.json"),
                         "--spend", f"{work / 'create.json'}:0", "--output", bob["public_key"]])
    (work / "transfer.json").write_text(transfer_text)
    transfer = json.loads(transfer_text)
    post_commit(3, work / "transfer.json")
    expect_on_stream(stream0, 0, create["id"])
    expect_on_stream(stream0, 0, transfer["id"])
    for node in (1, 2):
        # mode=commit answered once node 3 committed it; the others commit
        # the same block moments apart.
        url = f"http://127.0.0.1:{NODE_PORTS[node][0]}/api/v1/transactions/{transfer['id']}"
        deadline = time.monotonic() + 20
        while True:
            status, body = curl(url)
            if status == 200:
                break
            if time.monotonic() > deadline:
                raise StepFailed(f"node {node} answers {status} for the transfer: {body}")
            time.sleep(0.2)
        if json.loads(body).get("id") != transfer["id"]:
            raise StepFailed(f"node {node} returned {body}")
    stream0.close()
    stream3.close()

    step("down (volumes kept), up -d again: init keeps the homes, the chain continues")
    run([sys.executable, RUNNER, "down", *compose])
    print(run([sys.executable, RUNNER, "up", "--detach", *compose, "--ledgerd", args.ledgerd,
               "--timeout", "90"]), end="")
    if "exist; keeping them" not in (work / "compose" / "logs" / "init.log").read_text():
        raise StepFailed("the init service did not keep the network homes on the second start")
    stored = curl_json(f"http://127.0.0.1:{NODE_PORTS[2][0]}/api/v1/transactions/{transfer['id']}")
    if stored.get("id") != transfer["id"]:
        raise StepFailed(f"after the restart node 2 returned {stored}")
    again_text = run([args.ledgerctl, "create", "--key-file", str(work / "bob.json"),
                      "--asset", '{"name":"after the restart"}'])
    (work / "again.json").write_text(again_text)
    again = json.loads(again_text)
    stream1 = open_stream(1, from_height=1)
    post_commit(2, work / "again.json")
    expect_on_stream(stream1, 1, again["id"])
    stream1.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compose-file", default=str(HERE.parents[1] / "docker-compose.network.yml"))
    parser.add_argument("--ledgerd", required=True, help="ledgerd binary for the build: services")
    parser.add_argument("--ledgerctl", required=True, help="ledgerctl binary to sign transactions")
    args = parser.parse_args()
    args.compose_file = str(Path(args.compose_file).resolve())
    if os.geteuid() != 0:
        print("FAILED: the compose runner needs root (ip netns); run the tests as root")
        return 1

    work = Path(tempfile.mkdtemp(prefix="compose-network-test-"))
    compose = ["--file", args.compose_file, "--work-dir", str(work / "compose")]
    failed = None
    try:
        walkthrough(args, work)
    except (StepFailed, KeyError) as e:
        failed = e
    finally:
        if failed:
            print(f"FAILED: {failed}", flush=True)
            walk.print_log_tails(work / "compose")
        step("down -v")
        down = subprocess.run([sys.executable, RUNNER, "down", "--volumes", *compose],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(down.stdout, end="")
    namespaces = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout
    document = yaml.safe_load(Path(args.compose_file).read_text())
    left = [n for n in document["services"]
            if any(line.split()[0] == n for line in namespaces.splitlines() if line)]
    if down.returncode != 0 or left:
        print(f"FAILED: down left namespaces {left} (exit {down.returncode})")
        failed = failed or "down"
    if not failed:
        subprocess.run(["rm", "-rf", str(work)])
    step("passed" if not failed else f"failed (files in {work})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
