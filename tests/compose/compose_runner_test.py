#!/usr/bin/python3
"""Unit tests of compose_runner.py's reading of compose files, Dockerfiles,
the engine table and the engine images' entrypoint steps. Needs no root and
starts nothing.

    tests/compose/compose_runner_test.py [-v]
"""

import json
import os
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compose_runner as cr  # noqa: E402


class ComposeFileTest(unittest.TestCase):
    """Compose syntax the runner understands."""

    def test_environment_list_and_map_forms(self):
        os.environ["COMPOSE_RUNNER_TEST_HOST"] = "from-host"
        self.assertEqual(cr.parse_environment(["A=1", "B=x=y", "COMPOSE_RUNNER_TEST_HOST", "UNSET_XYZ"]),
                         {"A": "1", "B": "x=y", "COMPOSE_RUNNER_TEST_HOST": "from-host"})
        self.assertEqual(cr.parse_environment({"A": 1, "B": True, "C": None, "D": ""}),
                         {"A": "1", "B": "true", "D": ""})

    def test_ports(self):
        self.assertEqual(cr.parse_ports(["9984:9984", "127.0.0.1:1:2", "3:4/tcp",
                                         {"target": 5, "published": 6}], "s"),
                         [("", 9984, 9984), ("127.0.0.1", 1, 2), ("", 3, 4), ("", 6, 5)])
        for bad in (["9984"], ["1:2/udp"], ["1-2:1-2"]):
            with self.assertRaises(cr.ComposeError):
                cr.parse_ports(bad, "s")

    def test_interpolation(self):
        variables = {"SET": "v", "EMPTY": ""}
        self.assertEqual(cr.interpolate({"a": ["$SET", "${SET}", "${EMPTY:-d}", "${EMPTY-d}",
                                               "${NONE:-d}", "$$SET", 3]}, variables),
                         {"a": ["v", "v", "d", "", "d", "$SET", 3]})
        with self.assertRaises(cr.ComposeError):
            cr.interpolate("${NONE:?needed}", variables)

    def test_commands_and_durations(self):
        self.assertEqual(cr.as_list("node --abci 'a b'"), ["node", "--abci", "a b"])
        self.assertEqual(cr.as_list(["node", 1]), ["node", "1"])
        self.assertEqual(cr.parse_duration("1m30s", 10), 90)
        self.assertEqual(cr.parse_duration(None, 10), 10)

    def test_start_order_follows_depends_on(self):
        services = {"b": {"depends_on": ["a"]}, "a": {"depends_on": []}, "c": {"depends_on": ["b"]}}
        self.assertEqual(cr.start_order(services), ["a", "b", "c"])
        with self.assertRaises(cr.ComposeError):
            cr.start_order({"a": {"depends_on": ["b"]}, "b": {"depends_on": ["a"]}})


    def test_depends_on_conditions(self):
        services = {
            "init": {},
            "engine": {"depends_on": {"init": {"condition": "service_completed_successfully"},
                                      "app": {"condition": "service_started"}}},
            "app": {"depends_on": ["init"]},
        }
        self.assertEqual(cr.completion_dependencies(services), {"init"})
        self.assertEqual(services["engine"]["depends_on"], ["init", "app"])
        self.assertEqual(services["app"]["depends_on"], ["init"])
        self.assertEqual(cr.start_order(services), ["init", "app", "engine"])
        with self.assertRaises(cr.ComposeError):
            cr.completion_dependencies({"a": {"depends_on": {"b": {"condition": "service_healthy"}}},
                                        "b": {}})


class DockerfileTest(unittest.TestCase):
    """The final stage of a Dockerfile."""

    def test_this_repository(self):
        image = cr.parse_dockerfile(cr.REPO_ROOT / "Dockerfile")
        self.assertEqual(image.entrypoint, ["ledgerd"])
        self.assertEqual(image.workdir, "/data")
        self.assertEqual(image.volumes, ["/data"])
        # Container-only defaults: every port on all interfaces.
        self.assertEqual(image.env["LEDGERD_HTTP_ADDR"], "0.0.0.0:9984")
        self.assertEqual(image.env["LEDGERD_WS_ADDR"], "0.0.0.0:9985")
        self.assertEqual(image.env["LEDGERD_ABCI_ADDR"], "0.0.0.0:26658")

    def test_legacy_env_variables_and_stages(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "Dockerfile"
            path.write_text(textwrap.dedent("""\
                FROM a AS build
                ENV IGNORED=1
                FROM b
                ENV HOME_DIR /cometbft
                ENV X=kvstore \\
                    # a comment inside a continuation
                    Y="two words"
                WORKDIR $HOME_DIR
                VOLUME [ "$HOME_DIR" ]
                EXPOSE 26656 26657
                ENTRYPOINT ["docker-entrypoint.sh"]
                CMD ["node"]
                STOPSIGNAL SIGINT
                """))
            image = cr.parse_dockerfile(path)
        self.assertEqual(image.env, {"HOME_DIR": "/cometbft", "X": "kvstore", "Y": "two words"})
        self.assertEqual(image.workdir, "/cometbft")
        self.assertEqual(image.volumes, ["/cometbft"])
        self.assertEqual(image.expose, [26656, 26657])
        self.assertEqual((image.entrypoint, image.cmd, image.stop_signal),
                         (["docker-entrypoint.sh"], ["node"], "SIGINT"))


class EngineTest(unittest.TestCase):
    """Images map to the pinned engines of scripts/engines.txt."""

    def test_pinned_tags(self):
        pinned = {version: name for name, _, version in cr.engine_table()}
        for name, module, version in cr.engine_table():
            image = module.removeprefix("github.com/") + ":" + version
            self.assertEqual(cr.engine_for_image(image)[0], pinned[version])

    def test_a_tag_that_is_not_pinned_is_refused(self):
        with self.assertRaisesRegex(cr.ComposeError, "does not match the pinned"):
            cr.engine_for_image("cometbft/cometbft:v0.38.0")
        with self.assertRaisesRegex(cr.ComposeError, "does not match the pinned"):
            cr.engine_for_image("cometbft/cometbft")
        with self.assertRaisesRegex(cr.ComposeError, "no binary is known"):
            cr.engine_for_image("redis:7")

    def test_entrypoint_scripts_match_the_reproduction(self):
        """The real scripts in the module cache (when the engines are installed)."""
        checked = 0
        for _, module, version in cr.engine_table():
            script = cr.go_module_cache() / f"{module}@{version}" / "DOCKER" / "docker-entrypoint.sh"
            if script.exists():
                cr.ENTRYPOINT_FAMILIES[module].verify(script)
                checked += 1
        if not checked:
            self.skipTest("no engine module in the Go module cache")

    def test_a_changed_script_is_refused(self):
        family = cr.ENTRYPOINT_FAMILIES["github.com/cometbft/cometbft"]
        with tempfile.TemporaryDirectory() as d:
            script = Path(d) / "docker-entrypoint.sh"
            script.write_text("\n".join(family.expected_fragments()).replace("500ms", "1s"))
            with self.assertRaises(cr.ComposeError):
                family.verify(script)

    def test_first_start_edits(self):
        family = cr.ENTRYPOINT_FAMILIES["github.com/cometbft/cometbft"]
        with tempfile.TemporaryDirectory() as home:
            def fake_init(argv):
                self.assertEqual(argv, ["cometbft", "init"])
                config = Path(home) / "config"
                config.mkdir()
                (config / "config.toml").write_text(textwrap.dedent("""\
                    proxy_app = "tcp://127.0.0.1:26658"
                    moniker = "host"
                    [rpc]
                    laddr = "tcp://127.0.0.1:26657"
                    [p2p]
                    laddr = "tcp://0.0.0.0:26656"
                    addr_book_strict = true
                    [consensus]
                    timeout_commit = "1s"
                    [instrumentation]
                    prometheus = false
                    """))
                (config / "genesis.json").write_text(json.dumps(
                    {"chain_id": "test-chain-x", "consensus_params": {"block": {"max_bytes": "1"}}}))

            env = {"PROXY_APP": "ledgerd:26658", "MONIKER": "m", "CHAIN_ID": "c"}
            self.assertTrue(family.first_start(env, home, fake_init))
            config = (Path(home) / "config" / "config.toml").read_text()
            for line in ('proxy_app = "ledgerd:26658"', 'moniker = "m"', 'laddr = "tcp://0.0.0.0:26657"',
                         'laddr = "tcp://0.0.0.0:26656"', "addr_book_strict = false",
                         'timeout_commit = "500ms"', "prometheus = true"):
                self.assertIn(line + "\n", config)
            genesis = json.loads((Path(home) / "config" / "genesis.json").read_text())
            self.assertEqual(genesis["chain_id"], "c")
            self.assertEqual(genesis["consensus_params"]["block"], {"max_bytes": "1", "time_iota_ms": "500"})
            # A home that has its config is left alone, as the script does.
            self.assertFalse(family.first_start(env, home, fake_init))


class ServicePathTest(unittest.TestCase):
    """Container paths under a volume become the volume's directory."""

    def test_rewrite(self):
        service = cr.Service(name="s", kind="engine", image="i", argv=["x"], programs={}, env={},
                             workdir="/cometbft", mounts=[["/cometbft", "/w/v"], ["/cometbft/data", "/w/d"]],
                             published=[], ports=[], depends_on=[], restart="no", stop_signal="SIGTERM",
                             stop_grace=10, hostnames=["s"])
        self.assertEqual(service.rewrite("/cometbft"), "/w/v")
        self.assertEqual(service.rewrite("/cometbft/config/x"), "/w/v/config/x")
        self.assertEqual(service.rewrite("/cometbft/data/db"), "/w/d/db")
        self.assertEqual(service.rewrite("--home=/cometbft"), "--home=/w/v")
        self.assertEqual(service.rewrite("/cometbftx"), "/cometbftx")
        self.assertEqual(service.rewrite("ledgerd:26658"), "ledgerd:26658")
        self.assertEqual(service.rewrite("--proxy_app=ledgerd:26658"), "--proxy_app=ledgerd:26658")


if __name__ == "__main__":
    unittest.main()
