#!/usr/bin/python3
"""Runs a docker-compose file of this repository without a Docker engine.

Each service runs as the real binary its image holds:

- a service that builds this repository (``build: .``) runs ledgerd from our
  build (``build/bin/ledgerd`` or ``--ledgerd PATH``), configured the way the
  ``Dockerfile``'s final stage configures the image (its ENV, WORKDIR,
  ENTRYPOINT, CMD, VOLUME and STOPSIGNAL lines are read, not copied);
- a service with an image ``cometbft/cometbft:vX`` or
  ``tendermint/tendermint:vX`` runs the engine that
  ``scripts/install-engines.sh --path NAME`` installs (NAME from
  ``scripts/engines.txt``; the image tag must equal the pinned version). The
  image's own Dockerfile and entrypoint script are read from the Go module
  cache (``$(go env GOMODCACHE)/<module>@<version>/DOCKER/``): the Dockerfile
  gives ENV, WORKDIR and CMD, and the entrypoint's first-start steps
  (``<engine> init``, then its sed edits of config.toml and its jq edit of
  genesis.json) are reproduced before the engine starts. The runner refuses
  an entrypoint script that differs from the steps it reproduces.

Every service gets the compose file's ``environment``, ``command`` and
``entrypoint`` on top of the image's, and runs in its own network namespace
named after the service (``ip netns``), joined to the others through a veth
pair and a Linux bridge on a private subnet (10.213.0.0/24 unless
``--subnet``) that no other traffic uses: no default route exists inside a
namespace. Service names resolve through ``/etc/netns/NAME/hosts``, which
``ip netns exec`` mounts over /etc/hosts. Each published port
(``ports: "HOST:CONTAINER"``) is forwarded from 127.0.0.1:HOST (and
[::1]:HOST) on the host into the service's namespace; ``expose``d ports stay
on the bridge. Named volumes are directories under the work directory; a
container path under a volume (in the environment, the command or WORKDIR)
is rewritten to that directory.

Usage (as root):

    tests/compose/compose_runner.py up -f docker-compose.yml           # foreground; Ctrl-C stops it
    tests/compose/compose_runner.py up -d -f docker-compose.yml        # returns once the services run
    tests/compose/compose_runner.py ps -f docker-compose.yml [--json]
    tests/compose/compose_runner.py logs -f docker-compose.yml [SERVICE]
    tests/compose/compose_runner.py down -f docker-compose.yml [-v]    # -v also deletes the volumes
    tests/compose/compose_runner.py plan -f docker-compose.yml         # what would run, as JSON

``up`` waits until every service's process runs and each port it publishes
or exposes accepts connections. A service that another one names in
``depends_on`` with ``condition: service_completed_successfully`` (an init
service) runs to its end first and must exit 0; an engine image's service may
run ``/bin/sh -c SCRIPT``, which finds the engine on PATH. ``down`` (or Ctrl-C, or SIGTERM to the
runner, or a failed ``up``) stops the services in reverse start order
(SIGTERM, then SIGKILL after the grace period) and deletes the namespaces,
veths, bridge and /etc/netns directories. One run at a time holds
``/run/compose-runner/lock``; what a crashed run left behind (recorded in
``/run/compose-runner/state.json``) is cleaned before the next one starts.
"""

import argparse
import errno
import fcntl
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, asdict
from ipaddress import IPv4Network, ip_network
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path("/run/compose-runner")
STATE_FILE = RUN_DIR / "state.json"
LOCK_FILE = RUN_DIR / "lock"
NETNS_ETC = Path("/etc/netns")
DEFAULT_SUBNET = "10.213.0.0/24"
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ComposeError(Exception):
    """A compose file, image or host condition the runner cannot honour."""


class Stop(Exception):
    """Raised in the main thread when the runner is told to stop."""


def log(message):
    """Prints one line of the runner's own output, flushed at once."""
    print(f"compose: {message}", flush=True)


# --------------------------------------------------------------------------
# The compose file


def read_dotenv(directory):
    """Returns the variables of DIRECTORY/.env, which docker-compose reads too."""
    values = {}
    path = Path(directory) / ".env"
    if path.is_file():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<named>[A-Za-z_][A-Za-z0-9_]*)|"
    r"\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


def interpolate(value, variables):
    """Substitutes $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}
    and $$ in every string of a parsed compose document, as docker-compose does."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match):
        if match.group("escaped"):
            return "$"
        name = match.group("named") or match.group("braced")
        current = variables.get(name)
        op, arg = match.group("op"), match.group("arg")
        if op in (":-", "-"):
            if current is None or (op == ":-" and current == ""):
                return arg
        elif op in (":?", "?"):
            if current is None or (op == ":?" and current == ""):
                raise ComposeError(f"variable {name} is required: {arg}")
        return current or ""

    return _INTERPOLATION.sub(substitute, value)


def load_compose(path):
    """Parses a compose file with PyYAML and interpolates variables from the
    environment and the project's .env file."""
    path = Path(path).resolve()
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ComposeError(f"cannot read {path}: {e}") from e
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        raise ComposeError(f"{path}: no services")
    variables = read_dotenv(path.parent)
    variables.update(os.environ)
    return interpolate(document, variables)


def as_list(value):
    """A compose command or entrypoint as an argument list (string form is split
    as a shell would split it, without running one)."""
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def scalar_string(value):
    """A YAML scalar as the string a container sees (true -> "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_environment(value):
    """The service's environment, from either the list form (KEY=VALUE, or KEY
    alone to take the host's value) or the map form."""
    result = {}
    if value is None:
        return result
    if isinstance(value, dict):
        items = value.items()
    else:
        items = []
        for entry in value:
            key, sep, val = str(entry).partition("=")
            items.append((key, val if sep else None))
    for key, val in items:
        if val is None:
            if key in os.environ:
                result[key] = os.environ[key]
        else:
            result[key] = scalar_string(val)
    return result


def parse_port_number(text, what):
    """One TCP port number of a ports/expose entry."""
    text = str(text)
    if text.endswith("/tcp"):
        text = text[:-4]
    if "/" in text or "-" in text or not text.isdigit() or not 0 < int(text) < 65536:
        raise ComposeError(f"{what}: only single TCP ports are supported, not {text!r}")
    return int(text)


def parse_ports(entries, service):
    """The service's published ports as (host_ip, host_port, container_port)."""
    result = []
    for entry in entries or []:
        what = f"service {service}: ports entry {entry!r}"
        if isinstance(entry, dict):
            if entry.get("protocol", "tcp") != "tcp" or "published" not in entry:
                raise ComposeError(f"{what}: needs a published TCP port")
            result.append((entry.get("host_ip", ""), parse_port_number(entry["published"], what),
                           parse_port_number(entry["target"], what)))
            continue
        parts = str(entry).rsplit(":", 2)
        if len(parts) == 1:
            raise ComposeError(f"{what}: publish to a fixed host port (HOST:CONTAINER)")
        host_ip = parts[0] if len(parts) == 3 else ""
        result.append((host_ip, parse_port_number(parts[-2], what),
                       parse_port_number(parts[-1], what)))
    return result


def parse_duration(text, default):
    """A compose duration ("10s", "1m30s", "500ms") in seconds."""
    if text is None:
        return default
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(text)):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
    return total


# --------------------------------------------------------------------------
# Dockerfiles


@dataclass
class ImageConfig:
    """What a Dockerfile's final stage sets for the containers of its image."""
    env: dict = field(default_factory=dict)
    workdir: str = "/"
    entrypoint: list = None
    cmd: list = None
    volumes: list = field(default_factory=list)
    expose: list = field(default_factory=list)
    stop_signal: str = "SIGTERM"
    user: str = ""


def dockerfile_instructions(text):
    """Yields (INSTRUCTION, arguments) from a Dockerfile, joining continued lines."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line:
            word, _, rest = line.partition(" ")
            yield word.upper(), rest.strip()
    if pending.strip():
        word, _, rest = pending.strip().partition(" ")
        yield word.upper(), rest.strip()


def expand(text, variables):
    """Dockerfile variable substitution: $VAR, ${VAR}, ${VAR:-default}."""
    def substitute(match):
        name = match.group("named") or match.group("braced")
        if name is None:
            return "$"
        value = variables.get(name, "")
        if match.group("op") == ":-" and not value:
            return match.group("arg")
        return value
    return _INTERPOLATION.sub(substitute, text)


def exec_form(arguments, variables, shell_form_ok=True):
    """An ENTRYPOINT/CMD/VOLUME argument: a JSON array, or the shell form."""
    if arguments.startswith("["):
        try:
            return [str(v) for v in json.loads(arguments)]
        except json.JSONDecodeError:
            pass
    if shell_form_ok:
        return ["/bin/sh", "-c", arguments]
    return expand(arguments, variables).split()


def parse_dockerfile(path):
    """Reads the final stage of a Dockerfile into an ImageConfig."""
    config = ImageConfig()
    args = {}
    for word, rest in dockerfile_instructions(Path(path).read_text()):
        if word == "FROM":
            config = ImageConfig()
        elif word == "ARG":
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip('"')
        elif word == "ENV":
            variables = {**args, **config.env}
            tokens = shlex.split(rest, posix=True)
            if tokens and "=" not in tokens[0]:
                # Legacy form: ENV KEY VALUE (the value is the rest of the line).
                key, _, value = rest.partition(" ")
                config.env[key] = expand(value.strip(), variables)
            else:
                for token in tokens:
                    key, _, value = token.partition("=")
                    config.env[key] = expand(value, {**variables, **config.env})
        elif word == "WORKDIR":
            directory = expand(rest, {**args, **config.env})
            config.workdir = os.path.normpath(os.path.join(config.workdir, directory))
        elif word == "ENTRYPOINT":
            config.entrypoint = exec_form(rest, config.env)
        elif word == "CMD":
            config.cmd = exec_form(rest, config.env)
        elif word == "VOLUME":
            volumes = exec_form(rest, config.env, shell_form_ok=False)
            config.volumes += [expand(v, {**args, **config.env}) for v in volumes]
        elif word == "EXPOSE":
            config.expose += [parse_port_number(p, f"{path}: EXPOSE") for p in rest.split()]
        elif word == "STOPSIGNAL":
            config.stop_signal = rest.strip()
        elif word == "USER":
            config.user = rest.strip()
    return config


# --------------------------------------------------------------------------
# Engines and their images


def engine_table():
    """scripts/engines.txt as a list of (name, go module, version). A line is
    NAME MODULE VERSION COMMAND_PACKAGE, or NAME PACKAGE VERSION where the
    package's path holds /cmd/."""
    rows = []
    for line in (REPO_ROOT / "scripts" / "engines.txt").read_text().splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[0].startswith("#"):
            continue
        name, path, version = fields[:3]
        module = path if len(fields) > 3 else path.split("/cmd/")[0]
        rows.append((name, module, version))
    return rows


def engine_for_image(image):
    """The pinned engine (name, module, version) an image such as
    cometbft/cometbft:v0.38.25 holds; refuses a tag that is not pinned."""
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        repository, tag = image, "latest"
    module = "github.com/" + repository
    candidates = [row for row in engine_table() if row[1] == module]
    if not candidates:
        raise ComposeError(f"image {image}: no binary is known for it (the runner runs this "
                           f"repository's build and the engines of scripts/engines.txt)")
    for row in candidates:
        if row[2] == tag:
            return row
    pinned = ", ".join(f"{name} {version}" for name, _, version in candidates)
    raise ComposeError(f"image {image}: tag {tag} does not match the pinned engine version "
                       f"({pinned} in scripts/engines.txt); change the image tag or the pin")


def engine_binary(name):
    """The engine's binary, through scripts/install-engines.sh --path NAME."""
    result = subprocess.run([str(REPO_ROOT / "scripts" / "install-engines.sh"), "--path", name],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    path = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode != 0 or not os.access(path, os.X_OK):
        raise ComposeError(f"engine {name}: scripts/install-engines.sh --path {name} failed:\n"
                           f"{result.stderr.strip()}")
    return path


def go_module_cache():
    """The Go module cache directory (go env GOMODCACHE)."""
    if os.environ.get("GOMODCACHE"):
        return Path(os.environ["GOMODCACHE"])
    go = shutil.which("go")
    if go:
        out = subprocess.run([go, "env", "GOMODCACHE"], stdout=subprocess.PIPE, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return Path(os.environ.get("GOPATH", Path.home() / "go")) / "pkg" / "mod"


def engine_docker_dir(module, version):
    """The DOCKER directory of the engine's Go module (its image's sources)."""
    directory = go_module_cache() / f"{module}@{version}" / "DOCKER"
    if not (directory / "Dockerfile").is_file():
        raise ComposeError(f"{directory}/Dockerfile is missing: run scripts/install-engines.sh "
                           f"(or go mod download {module}@{version})")
    return directory


@dataclass
class EntrypointFamily:
    """The first-start steps of an engine image's docker-entrypoint.sh."""
    program: str        # the binary the script runs (cometbft, tendermint)
    home_variable: str  # CMTHOME or TMHOME

    # The script's sed expressions on config.toml, as (pattern, replacement):
    # $NAME in a replacement is the container's environment variable.
    CONFIG_EDITS = [
        (r"^proxy_app\s*=.*", 'proxy_app = "$PROXY_APP"'),
        (r"^moniker\s*=.*", 'moniker = "$MONIKER"'),
        (r"^addr_book_strict\s*=.*", "addr_book_strict = false"),
        (r"^timeout_commit\s*=.*", 'timeout_commit = "500ms"'),
        (r"^index_all_tags\s*=.*", "index_all_tags = true"),
        (r'^laddr = "tcp://127.0.0.1:26657"', 'laddr = "tcp://0.0.0.0:26657"'),
        (r"^prometheus\s*=.*", "prometheus = true"),
    ]

    def expected_fragments(self):
        """Text the real script must contain for this reproduction to be faithful."""
        home = "$" + self.home_variable
        fragments = [f'if [ ! -d "{home}/config" ]', f"{self.program} init",
                     f'"{home}/config/config.toml"',
                     'jq ".chain_id = \\"$CHAIN_ID\\" | .consensus_params.block.time_iota_ms = \\"500\\""',
                     f'exec {self.program} "$@"']
        for pattern, replacement in self.CONFIG_EDITS:
            if pattern.startswith("^laddr"):
                fragments.append(f"-e 's,{pattern},{replacement},'")
            elif "$" in replacement:
                escaped = replacement.replace('"', '\\"')
                fragments.append(f'-e "s/{pattern}/{escaped}/"')
            else:
                fragments.append(f"-e 's/{pattern}/{replacement}/'")
        return fragments

    def verify(self, script_path):
        """Refuses an entrypoint script whose steps differ from these."""
        text = Path(script_path).read_text()
        missing = [f for f in self.expected_fragments() if f not in text]
        edits = len(re.findall(r"^\s*-e ", text, re.MULTILINE))
        if missing or edits != len(self.CONFIG_EDITS):
            raise ComposeError(
                f"{script_path} differs from the first-start steps the runner reproduces "
                f"(missing: {missing}, sed expressions: {edits}); update EntrypointFamily")

    def first_start(self, env, home, run):
        """Runs the script's steps when HOME/config does not exist yet: `<engine>
        init`, the sed edits of config.toml and the jq edit of genesis.json."""
        config_dir = Path(home) / "config"
        if config_dir.is_dir():
            return False
        run([self.program, "init"])
        config_file = config_dir / "config.toml"
        lines = config_file.read_text().split("\n")
        for pattern, replacement in self.CONFIG_EDITS:
            value = re.sub(r"\$([A-Z_]+)", lambda m: env.get(m.group(1), ""), replacement)
            lines = [re.sub(pattern, lambda _m: value, line, count=1) for line in lines]
        config_file.write_text("\n".join(lines))
        genesis_file = config_dir / "genesis.json"
        genesis = json.loads(genesis_file.read_text())
        genesis["chain_id"] = env.get("CHAIN_ID", "")
        params = genesis.setdefault("consensus_params", {}) or {}
        genesis["consensus_params"] = params
        block = params.setdefault("block", {}) or {}
        params["block"] = block
        block["time_iota_ms"] = "500"
        new_file = config_dir / "genesis.json.new"
        new_file.write_text(json.dumps(genesis, indent=2) + "\n")
        new_file.rename(genesis_file)
        return True


ENTRYPOINT_FAMILIES = {
    "github.com/cometbft/cometbft": EntrypointFamily("cometbft", "CMTHOME"),
    "github.com/tendermint/tendermint": EntrypointFamily("tendermint", "TMHOME"),
}


# --------------------------------------------------------------------------
# The plan: what each service runs


@dataclass
class Service:
    """One service as the runner starts it."""
    name: str
    kind: str                   # "build" (this repository) or "engine"
    image: str
    argv: list                  # container argv (program name first)
    programs: dict              # container program name -> host binary
    env: dict
    workdir: str                # container path
    mounts: list                # [container path, host path]
    published: list             # [host ip, host port, container port]
    ports: list                 # container ports that must accept before "ready"
    depends_on: list
    restart: str
    stop_signal: str
    stop_grace: float
    hostnames: list
    entrypoint_family: str = "" # module of an emulated engine entrypoint
    entrypoint_script: str = ""
    home_variable: str = ""
    # A service another one waits for with `condition:
    # service_completed_successfully`: it runs to its end before the services
    # after it start, and must exit 0.
    run_to_completion: bool = False

    def host_path(self, path):
        """A container path under a mount, as the host directory that backs it."""
        for container, host in sorted(self.mounts, key=lambda m: -len(m[0])):
            if path == container or path.startswith(container.rstrip("/") + "/"):
                return host + path[len(container.rstrip("/")):]
        return None

    def rewrite(self, text):
        """Rewrites a container path (or --flag=PATH) under a mount to the host."""
        flag, sep, value = text.partition("=")
        if sep and flag.startswith("-"):
            mapped = self.host_path(value) if value.startswith("/") else None
            return f"{flag}={mapped}" if mapped else text
        mapped = self.host_path(text) if text.startswith("/") else None
        return mapped or text


def project_name(compose_file, explicit):
    """docker-compose's project name: -p, or the compose file's directory name."""
    name = explicit or os.environ.get("COMPOSE_PROJECT_NAME") or Path(compose_file).resolve().parent.name
    return re.sub(r"[^a-z0-9_-]", "", name.lower()) or "default"


def start_order(services):
    """Service names so that each comes after what it depends on."""
    order, visiting = [], set()

    def visit(name, chain):
        if name in order:
            return
        if name in visiting:
            raise ComposeError(f"depends_on cycle: {' -> '.join(chain + [name])}")
        if name not in services:
            raise ComposeError(f"{chain[-1]} depends on unknown service {name}")
        visiting.add(name)
        for dep in services[name]["depends_on"]:
            visit(dep, chain + [name])
        order.append(name)

    for name in services:
        visit(name, [])
    return order


DEPENDS_ON_CONDITIONS = ("service_started", "service_completed_successfully")


def completion_dependencies(services):
    """Normalizes each service's depends_on to a list of names and returns the
    services some other one waits for with `condition:
    service_completed_successfully` (the long form of depends_on)."""
    completed = set()
    for name, spec in services.items():
        depends = spec.get("depends_on") or []
        if isinstance(depends, dict):
            for dependency, options in depends.items():
                condition = (options or {}).get("condition", "service_started")
                if condition not in DEPENDS_ON_CONDITIONS:
                    raise ComposeError(f"service {name}: depends_on {dependency} with condition "
                                       f"{condition} (the runner knows "
                                       f"{', '.join(DEPENDS_ON_CONDITIONS)})")
                if condition == "service_completed_successfully":
                    completed.add(dependency)
            spec["depends_on"] = list(depends.keys())
        else:
            spec["depends_on"] = list(depends)
    return completed


def build_plan(compose_file, work_dir, project, ledgerd):
    """Resolves every service of the compose file into a Service."""
    compose_file = Path(compose_file).resolve()
    document = load_compose(compose_file)
    declared_volumes = document.get("volumes") or {}
    raw = {name: spec or {} for name, spec in document["services"].items()}
    completed = completion_dependencies(raw)
    plans = {}
    for name in start_order(raw):
        plans[name] = plan_service(name, raw[name], compose_file.parent, work_dir, project,
                                   declared_volumes, ledgerd)
        plans[name].run_to_completion = name in completed
    return plans


def plan_service(name, spec, project_dir, work_dir, project, declared_volumes, ledgerd):
    """Resolves one service: its binary, image configuration and compose settings."""
    programs = {}
    family, script, home_variable = "", "", ""
    if "build" in spec:
        build = spec["build"]
        context = build if isinstance(build, str) else (build or {}).get("context", ".")
        context = (project_dir / context).resolve()
        dockerfile = "Dockerfile" if isinstance(build, str) else (build or {}).get("dockerfile", "Dockerfile")
        if context != REPO_ROOT:
            raise ComposeError(f"service {name}: builds {context}; only this repository's "
                               f"image ({REPO_ROOT}) can be run")
        image = parse_dockerfile(context / dockerfile)
        kind = "build"
        ledgerd = Path(ledgerd).resolve()
        if not os.access(ledgerd, os.X_OK):
            raise ComposeError(f"{ledgerd} is missing: build ledgerd first (or pass --ledgerd)")
        programs["ledgerd"] = str(ledgerd)
        for binary in ledgerd.parent.iterdir():
            programs.setdefault(binary.name, str(binary))
    elif "image" in spec:
        engine, module, version = engine_for_image(spec["image"])
        docker_dir = engine_docker_dir(module, version)
        image = parse_dockerfile(docker_dir / "Dockerfile")
        kind = "engine"
        entry = ENTRYPOINT_FAMILIES.get(module)
        if entry is None:
            raise ComposeError(f"image {spec['image']}: its entrypoint is not reproduced")
        binary = engine_binary(engine)
        programs[entry.program] = binary
        if image.entrypoint and os.path.basename(image.entrypoint[0]) == "docker-entrypoint.sh":
            script = str(docker_dir / "docker-entrypoint.sh")
            entry.verify(script)
            family, home_variable = module, entry.home_variable
    else:
        raise ComposeError(f"service {name}: neither build nor image")

    # Compose overrides the image: entrypoint resets CMD, command replaces it.
    entrypoint = image.entrypoint or []
    cmd = image.cmd or []
    if "entrypoint" in spec:
        entrypoint = as_list(spec["entrypoint"]) or []
        cmd = []
        family = ""
    if "command" in spec:
        cmd = as_list(spec["command"]) or []
    argv = entrypoint + cmd
    if family:
        argv = [ENTRYPOINT_FAMILIES[family].program] + cmd  # what the script finally execs
    if not argv:
        raise ComposeError(f"service {name}: nothing to run")
    if kind == "engine" and argv[0] in SHELLS:
        # The engine images are Alpine based: their /bin/sh runs a script
        # (`entrypoint: ["/bin/sh", "-c"]`) that finds the engine on PATH.
        programs[argv[0]] = "/bin/sh"
    if argv[0] not in programs and os.path.basename(argv[0]) not in programs:
        raise ComposeError(f"service {name}: no binary for {argv[0]!r} (known: {sorted(programs)})")

    mounts = []
    volume_root = Path(work_dir) / "volumes"
    for entry in spec.get("volumes") or []:
        if isinstance(entry, dict):
            source, target, kind_ = entry.get("source"), entry["target"], entry.get("type", "volume")
        else:
            parts = str(entry).split(":")
            if len(parts) == 1:
                source, target, kind_ = None, parts[0], "volume"
            else:
                source, target = parts[0], parts[1]
                kind_ = "bind" if source.startswith((".", "/", "~")) else "volume"
        if kind_ == "bind":
            host = (project_dir / os.path.expanduser(source)).resolve()
        elif source:
            if source not in declared_volumes:
                raise ComposeError(f"service {name}: volume {source} is not declared under volumes:")
            host = volume_root / f"{project}_{source}"
        else:
            host = volume_root / f"anonymous_{name}{target.replace('/', '_')}"
        mounts.append([target, str(host)])
    for target in image.volumes:
        if not any(m[0] == target for m in mounts):
            mounts.append([target, str(volume_root / f"anonymous_{name}{target.replace('/', '_')}")])

    env = dict(image.env)
    env.update(parse_environment(spec.get("environment")))
    published = [[ip, host, container] for ip, host, container in parse_ports(spec.get("ports"), name)]
    exposed = [parse_port_number(p, f"service {name}: expose") for p in spec.get("expose") or []]
    ports = sorted({p for _, _, p in published} | set(exposed))
    restart = spec.get("restart", "no")
    restart = "no" if restart is False else str(restart)
    hostnames = [name] + [h for h in (spec.get("hostname"), spec.get("container_name")) if h]
    return Service(
        name=name, kind=kind, image=spec.get("image") or "(build)", argv=argv, programs=programs,
        env=env, workdir=image.workdir if "working_dir" not in spec else spec["working_dir"],
        mounts=mounts, published=published, ports=ports, depends_on=spec["depends_on"],
        restart=restart, stop_signal=spec.get("stop_signal", image.stop_signal),
        stop_grace=parse_duration(spec.get("stop_grace_period"), 10.0), hostnames=hostnames,
        entrypoint_family=family, entrypoint_script=script, home_variable=home_variable)


SHELLS = ("sh", "/bin/sh")


def host_environment(service, work_dir):
    """The environment the service's process gets: a container's PATH, HOSTNAME
    and HOME, then the image's and the compose file's variables, with container
    paths under a mount rewritten to their host directories. A service that
    runs a shell finds the image's programs first on PATH (a directory of
    links to the host binaries)."""
    env = {"PATH": CONTAINER_PATH, "HOSTNAME": service.name}
    for key, value in service.env.items():
        env[key] = service.rewrite(value)
    env["HOME"] = host_workdir(service, work_dir)
    if service.argv[0] in SHELLS:
        programs_dir = Path(work_dir) / "programs" / service.name
        programs_dir.mkdir(parents=True, exist_ok=True)
        for program, binary in service.programs.items():
            if "/" in program or program in SHELLS:
                continue
            link = programs_dir / program
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(binary)
        env["PATH"] = f"{programs_dir}:{CONTAINER_PATH}"
    return env


def host_workdir(service, work_dir):
    """The service's WORKDIR on the host: its mount, or a directory of its own."""
    mapped = service.host_path(service.workdir)
    if mapped:
        return mapped
    return str(Path(work_dir) / "rootfs" / service.name / service.workdir.lstrip("/"))


def host_argv(service):
    """The service's argv with its program replaced by the host binary and
    container paths rewritten."""
    program = service.programs.get(service.argv[0]) or service.programs[os.path.basename(service.argv[0])]
    return [program] + [service.rewrite(a) for a in service.argv[1:]]


# --------------------------------------------------------------------------
# Network namespaces


def ip(*args, check=True, quiet=False):
    """Runs `ip ARGS`; raises ComposeError when it fails and check is set."""
    result = subprocess.run(["ip", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and result.returncode != 0:
        raise ComposeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    if not check and result.returncode != 0 and not quiet:
        log(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def existing_namespaces():
    """Names of the network namespaces that exist now."""
    out = ip("netns", "list").stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def check_subnet_free(subnet):
    """Refuses a subnet that overlaps an address or route the host already has."""
    net = ip_network(subnet)
    for line in ip("-4", "route", "show", "table", "all").stdout.splitlines():
        dest = line.split()[0]
        if dest in ("default", "broadcast", "local", "unreachable", "multicast"):
            dest = line.split()[1] if dest != "default" else "0.0.0.0/0"
            if dest == "0.0.0.0/0":
                continue
        try:
            other = ip_network(dest if "/" in dest else dest + "/32", strict=False)
        except ValueError:
            continue
        if other.overlaps(net) and other.prefixlen > 0:
            raise ComposeError(f"subnet {subnet} overlaps the host's route {line.strip()!r}; "
                               f"choose another with --subnet")


def write_state(state):
    """Records what the run has created, so that a later run can remove it."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.rename(STATE_FILE)


def read_state():
    """The state of the current (or a crashed) run, or None."""
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None


def setup_network(plan, state, subnet):
    """Creates the bridge, one namespace and veth pair per service, and the
    /etc/netns/NAME/hosts files; records each step in the state first."""
    net = IPv4Network(subnet)
    hosts = list(net.hosts())
    if len(plan) + 1 > len(hosts):
        raise ComposeError(f"subnet {subnet} is too small for {len(plan)} services")
    prefix = state["prefix"]
    bridge = f"{prefix}-br"
    taken = existing_namespaces()
    state["bridge"] = bridge
    write_state(state)
    ip("link", "add", bridge, "type", "bridge")
    ip("addr", "add", f"{hosts[0]}/{net.prefixlen}", "dev", bridge)
    ip("link", "set", bridge, "up")
    addresses = {}
    for index, name in enumerate(plan, start=1):
        namespace = name if name not in taken else f"{prefix}-{name}"
        if namespace in taken:
            raise ComposeError(f"network namespace {namespace} exists already")
        addresses[name] = str(hosts[index])
        entry = state["services"][name]
        entry["namespace"] = namespace
        entry["ip"] = addresses[name]
        entry["veth"] = f"{prefix}-{index}"
        write_state(state)
        ip("netns", "add", namespace)
        peer = f"{prefix}-{index}c"
        ip("link", "add", entry["veth"], "type", "veth", "peer", "name", peer)
        ip("link", "set", peer, "netns", namespace)
        ip("link", "set", entry["veth"], "master", bridge)
        ip("link", "set", entry["veth"], "up")
        ip("-n", namespace, "link", "set", peer, "name", "eth0")
        ip("-n", namespace, "addr", "add", f"{addresses[name]}/{net.prefixlen}", "dev", "eth0")
        ip("-n", namespace, "link", "set", "eth0", "up")
        ip("-n", namespace, "link", "set", "lo", "up")
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    for name, service in plan.items():
        lines.append(f"{addresses[name]}\t{' '.join(dict.fromkeys(service.hostnames))}")
    for name in plan:
        directory = NETNS_ETC / state["services"][name]["namespace"]
        state["netns_dirs"].append(str(directory))
        write_state(state)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "hosts").write_text("\n".join(lines) + "\n")


def teardown_network(state):
    """Deletes the namespaces (with any process left in them), veths, bridge
    and /etc/netns directories a state records."""
    namespaces = existing_namespaces()
    for entry in state.get("services", {}).values():
        namespace = entry.get("namespace")
        if namespace and namespace in namespaces:
            pids = ip("netns", "pids", namespace, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            ip("netns", "del", namespace, check=False)
        if entry.get("veth"):
            ip("link", "del", entry["veth"], check=False, quiet=True)
    if state.get("bridge"):
        ip("link", "del", state["bridge"], check=False, quiet=True)
    for directory in state.get("netns_dirs", []):
        shutil.rmtree(directory, ignore_errors=True)


# --------------------------------------------------------------------------
# Processes


def process_start_time(pid):
    """The kernel's start time of PID (to tell it from a reused pid), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid, start_time):
    """Whether PID still is the process that was started at START_TIME (and
    not a zombie)."""
    if pid is None:
        return False
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] != "Z" and int(fields[19]) == start_time
    except (OSError, IndexError, ValueError):
        return False


def stop_process(pid, start_time, sig, grace, name, popen=None):
    """Sends SIG to the process group of PID, then SIGKILL after GRACE seconds."""
    if not alive(pid, start_time):
        return
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if popen is not None and popen.poll() is not None:
            break
        if popen is None and not alive(pid, start_time):
            break
        time.sleep(0.1)
    else:
        log(f"{name}: still running after {grace:g} s, SIGKILL")
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if popen is not None:
        try:
            popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    log(f"{name}: stopped")


def signal_number(name):
    """A signal given as SIGTERM, TERM or a number."""
    name = str(name).upper()
    if name.isdigit():
        return int(name)
    return getattr(signal, name if name.startswith("SIG") else "SIG" + name)


class Forwarder:
    """Forwards a published port from the host's loopback into a namespace."""

    def __init__(self, host_port, target_ip, target_port, label):
        self.target = (target_ip, target_port)
        self.label = label
        self.sockets = []
        self.host_port = host_port

    def bind(self, wait):
        """Listens on 127.0.0.1 (and ::1 when the host has it); waits up to WAIT
        seconds for a port another process holds."""
        deadline = time.monotonic() + wait
        while True:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", self.host_port))
                break
            except OSError as e:
                sock.close()
                if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise ComposeError(f"cannot publish 127.0.0.1:{self.host_port} ({self.label}): {e}")
                time.sleep(0.5)
        sock.listen(128)
        self.sockets.append(sock)
        try:
            sock6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            sock6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock6.bind(("::1", self.host_port))
            sock6.listen(128)
            self.sockets.append(sock6)
        except OSError:
            pass

    def start(self):
        """Accepts connections in background threads."""
        for sock in self.sockets:
            threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def close(self):
        """Stops listening (connections in flight end with their services)."""
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, sock):
        while True:
            try:
                client, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client):
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        done = threading.Barrier(2, action=lambda: (client.close(), upstream.close()))
        threading.Thread(target=self._pump, args=(client, upstream, done), daemon=True).start()
        self._pump(upstream, client, done)

    @staticmethod
    def _pump(source, sink, done):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            done.wait(timeout=3600)
        except threading.BrokenBarrierError:
            pass


class Supervisor:
    """Starts, watches and stops the services of one compose run."""

    def __init__(self, plan, args):
        self.plan = plan
        self.args = args
        self.work_dir = Path(args.work_dir)
        self.popens = {}
        self.forwarders = []
        self.stopping = False
        self.state = None
        self.lock_fd = None
        self.notify = None

    def acquire_lock(self):
        """Holds the runner's lock for the whole run; waits for another run."""
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        self.lock_fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.args.lock_timeout
        announced = False
        while True:
            try:
                fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    running = read_state() or {}
                    raise ComposeError(f"another compose run holds {LOCK_FILE} "
                                       f"({running.get('compose_file', 'unknown file')}); "
                                       f"stop it with `down`")
                if not announced:
                    log(f"waiting for another compose run to end ({LOCK_FILE})")
                    announced = True
                time.sleep(0.5)

    def clean_leftovers(self):
        """Removes what a crashed earlier run left behind."""
        old = read_state()
        if old:
            log(f"cleaning up after an earlier run of {old.get('compose_file')}")
            cleanup_state(old)

    def run(self, notify):
        """up: start everything, report readiness, then watch until told to stop."""
        self.notify = notify
        try:
            return self._run()
        except (ComposeError, Stop) as e:
            if isinstance(e, ComposeError):
                log(f"error: {e}")
            self.report(f"error: {e}\n")
            return 1 if isinstance(e, ComposeError) else 0

    def report(self, text):
        """Tells a detached `up` waiting on the pipe how the start ended (once)."""
        if self.notify is not None:
            os.write(self.notify, text.encode())
            os.close(self.notify)
            self.notify = None

    def _run(self):
        """The body of run(); always tears down what it started."""
        self.acquire_lock()
        self.clean_leftovers()
        self.state = {
            "version": 1, "compose_file": str(Path(self.args.file).resolve()),
            "project": self.args.project_name, "work_dir": str(self.work_dir),
            "supervisor_pid": os.getpid(), "supervisor_start": process_start_time(os.getpid()),
            "prefix": "cr" + secrets.token_hex(2), "subnet": self.args.subnet, "bridge": None,
            "netns_dirs": [], "ready": False,
            "services": {name: {"pid": None, "pid_start": None, "restarts": 0,
                                "published": s.published, "image": s.image,
                                "log": str(self.work_dir / "logs" / f"{name}.log")}
                         for name, s in self.plan.items()},
        }
        write_state(self.state)
        try:
            check_subnet_free(self.args.subnet)
            setup_network(self.plan, self.state, self.args.subnet)
            for name, service in self.plan.items():
                for host_ip, host_port, container_port in service.published:
                    forwarder = Forwarder(host_port, self.state["services"][name]["ip"],
                                          container_port, f"{name}:{container_port}")
                    forwarder.bind(self.args.port_wait)
                    self.forwarders.append(forwarder)
            for forwarder in self.forwarders:
                forwarder.start()
            for name, service in self.plan.items():
                if service.run_to_completion:
                    self.run_to_completion(name)
                else:
                    self.start_service(name)
            self.wait_ready()
            self.state["ready"] = True
            write_state(self.state)
            summary = self.summary()
            log("up:\n" + summary)
            self.report("ok\n" + summary)
            self.watch()
            return 0
        finally:
            self.stopping = True
            self.teardown()

    def run_in_namespace(self, name, argv, env, cwd, log_file):
        """Starts ARGV in the service's namespace in a session of its own."""
        namespace = self.state["services"][name]["namespace"]
        return subprocess.Popen(["ip", "netns", "exec", namespace, *argv], env=env, cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_service(self, name):
        """The image's entrypoint steps for a first start, then the service itself."""
        service = self.plan[name]
        for _, host in service.mounts:
            Path(host).mkdir(parents=True, exist_ok=True)
        env = host_environment(service, self.work_dir)
        cwd = host_workdir(service, self.work_dir)
        Path(cwd).mkdir(parents=True, exist_ok=True)
        log_path = Path(self.state["services"][name]["log"])
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log_file:
            if service.entrypoint_family:
                family = ENTRYPOINT_FAMILIES[service.entrypoint_family]
                home = env.get(family.home_variable, "")

                def run_step(argv):
                    log(f"{name}: entrypoint first start: {' '.join(argv)}")
                    step = self.run_in_namespace(name, [service.programs[argv[0]], *argv[1:]],
                                                 env, cwd, log_file)
                    if step.wait() != 0:
                        raise ComposeError(f"{name}: {' '.join(argv)} failed (see {log_path})")

                if family.first_start(service.env, home, run_step):
                    log(f"{name}: entrypoint edited {home}/config/config.toml and genesis.json")
            argv = host_argv(service)
            popen = self.run_in_namespace(name, argv, env, cwd, log_file)
        self.popens[name] = popen
        entry = self.state["services"][name]
        entry["pid"] = popen.pid
        entry["pid_start"] = process_start_time(popen.pid)
        entry["argv"] = argv
        write_state(self.state)
        log(f"{name}: started pid {popen.pid} in netns {entry['namespace']} ({entry['ip']}): "
            f"{' '.join(argv)}")

    def run_to_completion(self, name):
        """Starts a service the next ones wait for and waits until it exits 0."""
        self.start_service(name)
        popen = self.popens.pop(name)
        try:
            code = popen.wait(timeout=self.args.timeout)
        except subprocess.TimeoutExpired:
            stop_process(popen.pid, process_start_time(popen.pid), signal.SIGKILL, 1.0, name, popen)
            raise ComposeError(f"{name} did not complete within {self.args.timeout:g} s:\n"
                               f"{self.log_tail(name)}")
        self.state["services"][name]["pid"] = None
        write_state(self.state)
        if code != 0:
            raise ComposeError(f"{name} exited with {code}; the services after it need it to "
                               f"complete successfully:\n{self.log_tail(name)}")
        log(f"{name}: completed successfully")

    def wait_ready(self):
        """Waits until each running service accepts on its published and exposed ports."""
        deadline = time.monotonic() + self.args.timeout
        pending = {name: list(self.plan[name].ports) for name in self.popens}
        while True:
            for name, popen in self.popens.items():
                if popen.poll() is not None:
                    raise ComposeError(f"{name} exited with {popen.returncode} before it was "
                                       f"ready:\n{self.log_tail(name)}")
            for name, ports in pending.items():
                address = self.state["services"][name]["ip"]
                for port in list(ports):
                    try:
                        socket.create_connection((address, port), timeout=0.5).close()
                        ports.remove(port)
                    except OSError:
                        pass
            if not any(pending.values()):
                return
            if time.monotonic() > deadline:
                waiting = {n: p for n, p in pending.items() if p}
                tails = "\n".join(self.log_tail(n) for n in waiting)
                raise ComposeError(f"not ready after {self.args.timeout:g} s, ports not "
                                   f"accepting: {waiting}\n{tails}")
            time.sleep(0.25)

    def log_tail(self, name, lines=20):
        """The last lines of a service's log, for error messages."""
        try:
            text = Path(self.state["services"][name]["log"]).read_text(errors="replace")
        except OSError:
            return f"--- {name}: no log"
        return f"--- {name} (last {lines} lines of its log):\n" + "\n".join(text.splitlines()[-lines:])

    def watch(self):
        """Restarts services per their restart policy until told to stop."""
        backoff = {}
        while not self.stopping:
            for name, popen in list(self.popens.items()):
                code = popen.poll()
                if code is None:
                    continue
                policy = self.plan[name].restart
                if policy in ("always", "unless-stopped") or (policy.startswith("on-failure") and code != 0):
                    delay = backoff.get(name, 1.0)
                    log(f"{name}: exited with {code}; restarting in {delay:g} s ({policy})")
                    time.sleep(delay)
                    backoff[name] = min(delay * 2, 30.0)
                    self.state["services"][name]["restarts"] += 1
                    self.start_service(name)
                else:
                    log(f"{name}: exited with {code}")
                    del self.popens[name]
                    self.state["services"][name]["pid"] = None
                    write_state(self.state)
            time.sleep(0.5)

    def teardown(self):
        """Stops the services in reverse start order, then removes the network."""
        for name in reversed(list(self.plan)):
            popen = self.popens.get(name)
            if popen is None:
                continue
            service = self.plan[name]
            stop_process(popen.pid, process_start_time(popen.pid), signal_number(service.stop_signal),
                         service.stop_grace, name, popen)
        for forwarder in self.forwarders:
            forwarder.close()
        if self.state:
            teardown_network(self.state)
            try:
                STATE_FILE.unlink()
            except FileNotFoundError:
                pass
            log("down: namespaces, veths, bridge and /etc/netns entries removed")

    def summary(self):
        """One line per service: namespace, address, pid, published ports."""
        rows = []
        for name in self.plan:
            entry = self.state["services"][name]
            published = " ".join(f"127.0.0.1:{h}->{c}" for _, h, c in entry["published"]) or "-"
            rows.append(f"  {name:12} netns {entry['namespace']:12} {entry['ip']:15} "
                        f"pid {entry['pid'] or 'exited':<8} {published}")
        return "\n".join(rows)


def cleanup_state(state):
    """Stops the processes and removes the network a (crashed) run recorded."""
    for name, entry in reversed(list(state.get("services", {}).items())):
        if entry.get("pid") and alive(entry["pid"], entry.get("pid_start")):
            stop_process(entry["pid"], entry["pid_start"], signal.SIGTERM, 10.0, name)
    teardown_network(state)
    try:
        STATE_FILE.unlink()
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------
# Commands


def default_work_dir(compose_file, project):
    """Where volumes and logs live unless --work-dir says otherwise."""
    return f"/var/tmp/compose-runner/{project}-{Path(compose_file).stem}"


def prepare(args):
    """Fills in the project name and work directory from the compose file."""
    args.project_name = project_name(args.file, args.project_name)
    if not args.work_dir and args.command in ("down", "logs"):
        # The running (or crashed) run of this file knows its own work directory.
        state = read_state()
        if state and state.get("compose_file") == str(Path(args.file).resolve()):
            args.work_dir = state.get("work_dir")
    args.work_dir = str(Path(args.work_dir or default_work_dir(args.file, args.project_name)).resolve())


def cmd_plan(args):
    """Prints the resolved services as JSON without starting anything."""
    plan = build_plan(args.file, args.work_dir, args.project_name, args.ledgerd)
    print(json.dumps({name: asdict(s) for name, s in plan.items()}, indent=2))
    return 0


def cmd_up(args):
    """Starts the compose file's services; with --detach returns once they run."""
    if os.geteuid() != 0:
        raise ComposeError("up needs root (ip netns)")
    plan = build_plan(args.file, args.work_dir, args.project_name, args.ledgerd)
    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(plan, args)

    def on_signal(signum, _frame):
        if not supervisor.stopping:
            supervisor.stopping = True
            raise Stop(signal.Signals(signum).name)

    if not args.detach:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_signal)
        return supervisor.run(None)

    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() > 0:
        os.close(write_end)
        message = b""
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            message += chunk
        text = message.decode(errors="replace")
        if text.startswith("ok\n"):
            log(f"up (detached, log {args.work_dir}/runner.log):\n" + text[3:])
            return 0
        log(text.strip() or f"the runner stopped before the services were ready; see {args.work_dir}/runner.log")
        return 1
    os.close(read_end)
    os.setsid()
    runner_log = os.open(Path(args.work_dir) / "runner.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(runner_log, 1)
    os.dup2(runner_log, 2)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    code = 1
    try:
        code = supervisor.run(write_end)
    finally:
        sys.stdout.flush()
        os._exit(code)


def cmd_down(args):
    """Stops the running compose file's services and removes its network."""
    state = read_state()
    if state and state.get("compose_file") != str(Path(args.file).resolve()):
        raise ComposeError(f"the running compose file is {state.get('compose_file')}, not {args.file}")
    if state:
        pid, start = state.get("supervisor_pid"), state.get("supervisor_start")
        if pid and alive(pid, start):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + args.timeout
            while alive(pid, start) and time.monotonic() < deadline:
                time.sleep(0.2)
            if alive(pid, start):
                log(f"the runner (pid {pid}) did not stop; SIGKILL")
                os.kill(pid, signal.SIGKILL)
                time.sleep(0.5)
        state = read_state()
        if state:
            cleanup_state(state)
        log(f"down: {args.file}")
    else:
        log(f"down: nothing of {args.file} is running")
    if args.volumes:
        shutil.rmtree(Path(args.work_dir) / "volumes", ignore_errors=True)
        log(f"removed the volumes in {args.work_dir}/volumes")
    return 0


def cmd_ps(args):
    """Shows the running services (as JSON with --json)."""
    state = read_state()
    if not state or state.get("compose_file") != str(Path(args.file).resolve()):
        if args.json:
            print("{}")
        else:
            log(f"nothing of {args.file} is running")
        return 1
    for entry in state["services"].values():
        entry["running"] = bool(entry.get("pid")) and alive(entry["pid"], entry.get("pid_start"))
    if args.json:
        print(json.dumps(state, indent=2))
        return 0
    for name, entry in state["services"].items():
        published = " ".join(f"127.0.0.1:{h}->{c}" for _, h, c in entry["published"]) or "-"
        print(f"{name:12} {'running' if entry['running'] else 'stopped':8} netns "
              f"{entry.get('namespace')} {entry.get('ip')} pid {entry.get('pid')} "
              f"restarts {entry['restarts']} {published}")
    return 0


def cmd_logs(args):
    """Prints the services' logs."""
    logs = Path(args.work_dir) / "logs"
    names = args.services or sorted(p.stem for p in logs.glob("*.log"))
    for name in names:
        path = logs / f"{name}.log"
        if path.exists():
            print(f"--- {name}")
            sys.stdout.write(path.read_text(errors="replace"))
    return 0


def main(argv=None):
    """Parses the command line and runs one command."""
    parser = argparse.ArgumentParser(
        description="Runs a docker-compose file of this repository without a Docker engine: "
                    "each service's real binary in a network namespace named after the service.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("Usage (as root):")[1])
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub):
        sub.add_argument("-f", "--file", default="docker-compose.yml", help="the compose file")
        sub.add_argument("-p", "--project-name", help="project name (default: the file's directory)")
        sub.add_argument("--work-dir", help="volumes and logs (default /var/tmp/compose-runner/PROJECT-FILE)")
        return sub

    up = common(commands.add_parser("up", help="start the services"))
    up.add_argument("-d", "--detach", action="store_true", help="return once the services run")
    up.add_argument("--ledgerd", default=str(REPO_ROOT / "build" / "bin" / "ledgerd"),
                    help="ledgerd binary for a service that builds this repository "
                         "(other programs of the image are taken from its directory)")
    up.add_argument("--subnet", default=DEFAULT_SUBNET, help="private subnet of the compose network")
    up.add_argument("--timeout", type=float, default=60, help="seconds to wait for readiness")
    up.add_argument("--port-wait", type=float, default=30,
                    help="seconds to wait for a published host port another process holds")
    up.add_argument("--lock-timeout", type=float, default=300,
                    help="seconds to wait for another run to end")
    down = common(commands.add_parser("down", help="stop the services and remove the network"))
    down.add_argument("-v", "--volumes", action="store_true", help="delete the volumes too")
    down.add_argument("--timeout", type=float, default=60, help="seconds to wait for the runner")
    ps = common(commands.add_parser("ps", help="show the running services"))
    ps.add_argument("--json", action="store_true", help="print the run's state as JSON")
    logs = common(commands.add_parser("logs", help="print the services' logs"))
    logs.add_argument("services", nargs="*", help="services (default: all)")
    plan = common(commands.add_parser("plan", help="print what up would run, as JSON"))
    plan.add_argument("--ledgerd", default=str(REPO_ROOT / "build" / "bin" / "ledgerd"),
                      help="ledgerd binary (as for up)")

    args = parser.parse_args(argv)
    prepare(args)
    try:
        return {"up": cmd_up, "down": cmd_down, "ps": cmd_ps, "logs": cmd_logs,
                "plan": cmd_plan}[args.command](args)
    except ComposeError as e:
        log(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
