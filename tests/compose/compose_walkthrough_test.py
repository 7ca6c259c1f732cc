#!/usr/bin/python3
"""Runs the compose walkthrough against one compose file, without Docker.

Starts the file with tests/compose/compose_runner.py (fresh volumes), then,
as a client on the host would, through the published ports on 127.0.0.1:

1. reads the API root (9984) and opens the event stream at the URL its
   `streams` property advertises, exactly as given;
2. asks the engine's RPC for /status (26657) and checks the engine version
   equals the image tag;
3. signs a CREATE with `ledgerctl` and hands it to the engine with curl
   (`broadcast_tx_commit?tx=0x<hex>`), as README's "Run beside CometBFT" does;
4. signs a TRANSFER of it and POSTs it to ledgerd
   (`/api/v1/transactions?mode=commit`), which broadcasts it through the
   engine service's RPC;
5. expects both transactions on the stream, once each, and the transfer to
   be readable from the API;
6. stops the services keeping the volumes, starts them again, and checks the
   chain continues (no second first-start of the engine's entrypoint);
7. stops everything and checks the namespaces are gone.

(The ABCI port must be published to nobody, checked right after `up`.)

Any failed step fails the test (exit 1), and so does running it without root
(the runner needs `ip netns`): a compose file that was not run is not proven.

    tests/compose/compose_walkthrough_test.py --compose-file docker-compose.yml \\
        --ledgerd build/bin/ledgerd --ledgerctl build/bin/ledgerctl
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
RUNNER = HERE / "compose_runner.py"
ABCI_PORT = 26658


class StepFailed(Exception):
    """A walkthrough step did not give what the compose file promises."""


def step(name):
    """Prints the start of a step with the time since the test began."""
    print(f"[{time.monotonic() - START:5.1f} s] {name}", flush=True)


def run(argv, **kwargs):
    """Runs a command, returns its stdout; a non-zero exit fails the step."""
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    if result.returncode != 0:
        raise StepFailed(f"{' '.join(map(str, argv))} exited with {result.returncode}:\n"
                         f"{result.stdout}{result.stderr}")
    return result.stdout


def curl(*args):
    """curl -sS with the given arguments; returns (HTTP status, body)."""
    out = run(["curl", "-sS", "--max-time", "30", "-w", "\n%{http_code}", *args])
    body, _, status = out.rpartition("\n")
    return int(status), body


def curl_json(*args, expect=200):
    """curl, expecting status EXPECT and a JSON body."""
    status, body = curl(*args)
    if status != expect:
        raise StepFailed(f"curl {' '.join(args)}: HTTP {status} (expected {expect}): {body}")
    try:
        return json.loads(body)
    except ValueError as e:
        raise StepFailed(f"curl {' '.join(args)}: not JSON: {body}") from e


def engine_tag(compose_file):
    """The image tag of the compose file's engine service (e.g. v0.38.25)."""
    document = yaml.safe_load(Path(compose_file).read_text())
    for spec in document["services"].values():
        image = (spec or {}).get("image", "")
        if image.startswith(("cometbft/", "tendermint/")):
            return image.rpartition(":")[2]
    raise StepFailed(f"{compose_file}: no engine service")


def walkthrough(args, work):
    """The steps; raises StepFailed at the first one that does not hold."""
    compose = ["--file", args.compose_file, "--work-dir", str(work / "compose")]

    step(f"up -d {args.compose_file}")
    print(run([sys.executable, RUNNER, "up", "--detach", *compose, "--ledgerd", args.ledgerd,
               "--timeout", "60"]), end="")
    state = json.loads(run([sys.executable, RUNNER, "ps", "--json", *compose]))

    step("published ports: 9984, 9985, 26657; the ABCI port only on the compose network")
    published = {(h, c) for s in state["services"].values() for _, h, c in s["published"]}
    for port in (9984, 9985, 26657):
        if (port, port) not in published:
            raise StepFailed(f"port {port} is not published as {port}:{port} (published: {sorted(published)})")
    if any(c == ABCI_PORT or h == ABCI_PORT for h, c in published):
        raise StepFailed(f"the ABCI port {ABCI_PORT} is published: {sorted(published)}")
    for name, service in state["services"].items():
        if service["namespace"] != name:
            raise StepFailed(f"service {name} runs in namespace {service['namespace']}")

    step("GET http://127.0.0.1:9984/api/v1/ and open the advertised stream URL")
    root = curl_json("http://127.0.0.1:9984/api/v1/")
    stream_url = root.get("streams", "")
    print(f"  streams: {stream_url}")
    if not stream_url.startswith("ws://localhost:9985/") and not stream_url.startswith("ws://127.0.0.1:9985/"):
        raise StepFailed(f"the advertised stream URL {stream_url!r} is not one a host client can open")
    try:
        stream = websocket.create_connection(stream_url, timeout=30)
    except (OSError, websocket.WebSocketException) as e:
        raise StepFailed(f"cannot open the advertised stream {stream_url}: {e}") from e

    step("GET http://127.0.0.1:26657/status")
    status = curl_json("http://127.0.0.1:26657/status")
    version = status["result"]["node_info"]["version"]
    print(f"  engine {version}, network {status['result']['node_info']['network']}")
    if version != args.engine_version.lstrip("v"):
        raise StepFailed(f"the engine reports version {version}, the image is {args.engine_version}")

    step("ledgerctl keygen, create; broadcast_tx_commit to 127.0.0.1:26657")
    for who in ("alice", "bob"):
        (work / f"{who}.json").write_text(run([args.ledgerctl, "keygen"]))
    create_text = run([args.ledgerctl, "create", "--key-file", str(work / "alice.json"),
                       "--asset", '{"name":"bicycle","serial":"abc-123"}',
                       "--metadata", '{"price":"300"}'])
    (work / "create.json").write_text(create_text)
    create = json.loads(create_text)
    tx_hex = create_text.replace("\n", "").encode().hex()
    answer = curl_json(f"http://127.0.0.1:26657/broadcast_tx_commit?tx=0x{tx_hex}")
    result = answer.get("result") or {}
    check_code = (result.get("check_tx") or {}).get("code", 0)
    final = result.get("tx_result") or result.get("deliver_tx") or {}
    if "error" in answer or check_code != 0 or final.get("code", 0) != 0 or not result.get("height"):
        raise StepFailed(f"broadcast_tx_commit did not commit the CREATE: {json.dumps(answer)}")
    print(f"  CREATE {create['id']} committed at height {result['height']}")

    step("ledgerctl transfer; POST http://127.0.0.1:9984/api/v1/transactions?mode=commit")
    bob = json.loads((work / "bob.json").read_text())
    transfer_text = run([args.ledgerctl, "transfer", "--key-file", str(work / "alice.json"),
                         "--spend", f"{work / 'create.json'}:0", "--output", bob["public_key"]])
    transfer = json.loads(transfer_text)
    (work / "transfer.json").write_text(transfer_text)
    status_code, body = curl("-X", "POST", "-H", "Content-Type: application/json",
                             "--data-binary", f"@{work / 'transfer.json'}",
                             "http://127.0.0.1:9984/api/v1/transactions?mode=commit")
    if status_code != 202:
        raise StepFailed(f"POST ?mode=commit answered {status_code}: {body}")
    print(f"  TRANSFER {transfer['id']} accepted (202)")

    step("both transactions arrive on the stream, once each")
    expected = {create["id"], transfer["id"]}
    seen = []
    deadline = time.monotonic() + 30
    while set(seen) != expected:
        stream.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            message = json.loads(stream.recv())
        except (websocket.WebSocketTimeoutException, OSError) as e:
            raise StepFailed(f"the stream delivered {seen}, expected {sorted(expected)}: {e}") from e
        print(f"  {json.dumps(message)}")
        if message.get("asset_id") != create["id"]:
            raise StepFailed(f"unexpected asset on the stream: {message}")
        seen.append(message["transaction_id"])
    if len(seen) != 2:
        raise StepFailed(f"the stream delivered {seen}")
    stream.close()

    step("GET the transfer back from 127.0.0.1:9984")
    stored = curl_json(f"http://127.0.0.1:9984/api/v1/transactions/{transfer['id']}")
    if stored.get("id") != transfer["id"]:
        raise StepFailed(f"the API returned {stored}")
    height = int(curl_json("http://127.0.0.1:26657/status")["result"]["sync_info"]["latest_block_height"])

    step("down (volumes kept), up -d again: the chain continues")
    run([sys.executable, RUNNER, "down", *compose])
    print(run([sys.executable, RUNNER, "up", "--detach", *compose, "--ledgerd", args.ledgerd,
               "--timeout", "60"]), end="")
    if "entrypoint first start" in (work / "compose" / "runner.log").read_text().split("compose: down:")[-1]:
        raise StepFailed("the engine's entrypoint ran its first-start steps again on kept volumes")
    again = curl_json("http://127.0.0.1:26657/status")["result"]["sync_info"]
    if int(again["latest_block_height"]) < height:
        raise StepFailed(f"the engine restarted at height {again['latest_block_height']}, was {height}")
    stored = curl_json(f"http://127.0.0.1:9984/api/v1/transactions/{transfer['id']}")
    if stored.get("id") != transfer["id"]:
        raise StepFailed(f"after the restart the API returned {stored}")
    print(f"  height {again['latest_block_height']}, the transfer is still there")


def print_log_tails(work_dir, lines=40):
    """Prints the end of the runner's and every service's log."""
    for path in [work_dir / "runner.log", *sorted((work_dir / "logs").glob("*.log"))]:
        if path.exists():
            text = path.read_text(errors="replace").splitlines()
            print(f"--- {path} (last {lines} lines)")
            print("\n".join(text[-lines:]))


def main():
    """Runs the walkthrough, then always stops the compose run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compose-file", required=True)
    parser.add_argument("--ledgerd", required=True, help="ledgerd binary for the build: service")
    parser.add_argument("--ledgerctl", required=True, help="ledgerctl binary to sign transactions")
    args = parser.parse_args()
    args.compose_file = str(Path(args.compose_file).resolve())
    if os.geteuid() != 0:
        print("FAILED: the compose runner needs root (ip netns); run the tests as root")
        return 1
    args.engine_version = engine_tag(args.compose_file)

    work = Path(tempfile.mkdtemp(prefix="compose-test-"))
    compose = ["--file", args.compose_file, "--work-dir", str(work / "compose")]
    failed = None
    try:
        walkthrough(args, work)
    except (StepFailed, KeyError) as e:
        failed = e
    finally:
        if failed:
            print(f"FAILED: {failed}", flush=True)
            print_log_tails(work / "compose")
        step("down -v")
        down = subprocess.run([sys.executable, RUNNER, "down", "--volumes", *compose],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(down.stdout, end="")
    namespaces = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout
    document = yaml.safe_load(Path(args.compose_file).read_text())
    left = [n for n in document["services"] if any(l.split()[0] == n for l in namespaces.splitlines() if l)]
    if down.returncode != 0 or left or any(Path("/etc/netns", n).exists() for n in document["services"]):
        print(f"FAILED: down left namespaces {left} (exit {down.returncode})")
        failed = failed or "down"
    if not failed:
        subprocess.run(["rm", "-rf", str(work)])
    step("passed" if not failed else f"failed (files in {work})")
    return 1 if failed else 0


START = time.monotonic()

if __name__ == "__main__":
    sys.exit(main())
