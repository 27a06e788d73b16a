"""collector-config.yaml, examples/jaeger/compose.yaml and the README's "View in Jaeger", checked together.

Neither the collector nor Jaeger installs without Docker, so this test refuses what the collector
refuses at start-up (a pipeline naming a component that is not defined, a pipeline without
receivers or exporters, a malformed component id, an unknown component type) and what would only
show as "no traces" later: ports that differ between the config, the compose file and the README,
a port published beyond 127.0.0.1, a config file mounted where the collector does not read it.
Each rule is shown to fire on a deliberately broken copy of the real files.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "collector-config.yaml"
COMPOSE = REPO / "examples" / "jaeger" / "compose.yaml"
README = REPO / "README.md"

SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions")
SIGNALS = ("traces", "metrics", "logs")
# Component types this config may use, each shipped by the contrib image (an unknown type is
# refused at start-up: "unknown type").
KNOWN_TYPES = {
    "receivers": {"otlp"},
    "processors": {"batch", "memory_limiter"},
    "exporters": {"otlp", "otlphttp", "debug", "prometheus"},
    "connectors": set(),
    "extensions": {"health_check"},
}
COMPONENT_ID = re.compile(r"^([a-z][a-z0-9_]*)(/[^/\s]+)?$")
PIPELINE_ID = re.compile(rf"^({'|'.join(SIGNALS)})(/[^/\s]+)?$")
JAEGER_OTLP_GRPC = 4317
"""Where Jaeger v2 receives OTLP/gRPC inside its container (its documented default)."""
JAEGER_UI = 16686
COLLECTOR_SERVICE = "otel-collector"
JAEGER_SERVICE = "jaeger"


@dataclass(frozen=True)
class Stack:
    """The three files, parsed."""

    config: dict[str, Any]
    compose: dict[str, Any]
    compose_dir: Path
    readme_section: str


def load(config: Path = CONFIG, compose: Path = COMPOSE, readme: Path = README) -> Stack:
    section = re.search(r"^## View in Jaeger\n(.*?)(?=^## )", readme.read_text(), re.S | re.M)
    return Stack(
        config=yaml.safe_load(config.read_text()),
        compose=yaml.safe_load(compose.read_text()),
        compose_dir=compose.parent,
        readme_section=section.group(1) if section else "",
    )


def config_problems(config: dict[str, Any]) -> list[str]:
    """What the collector would refuse at start-up, plus the pipeline shape this repo requires."""
    problems: list[str] = []
    for key in config:
        if key not in (*SECTIONS, "service"):
            problems.append(f"unknown top-level key {key!r}")
    defined: dict[str, set[str]] = {}
    for section in SECTIONS:
        components = config.get(section) or {}
        defined[section] = set(components)
        for component in components:
            match = COMPONENT_ID.match(component)
            if match is None:
                problems.append(f"{section}: malformed id {component!r}")
            elif match.group(1) not in KNOWN_TYPES[section]:
                problems.append(f"{section}: unknown type {match.group(1)!r} ({component})")
    service = config.get("service") or {}
    for extension in service.get("extensions") or []:
        if extension not in defined["extensions"]:
            problems.append(f"service.extensions: {extension} is not defined")
    pipelines: dict[str, Any] = service.get("pipelines") or {}
    if not pipelines:
        problems.append("service.pipelines: no pipeline")
    used: dict[str, set[str]] = {section: set() for section in SECTIONS}
    for name, pipeline in pipelines.items():
        if not PIPELINE_ID.match(name):
            problems.append(f"pipeline {name}: not traces, metrics or logs[/name]")
        pipeline = pipeline or {}
        for role, section, required in (
            ("receivers", "receivers", True),
            ("processors", "processors", False),
            ("exporters", "exporters", True),
        ):
            ids = pipeline.get(role) or []
            if required and not ids:
                problems.append(f"pipeline {name}: must have at least one of {role}")
            for component in ids:
                # A connector may stand in as a receiver or an exporter.
                if component in defined[section] or (
                    role != "processors" and component in defined["connectors"]
                ):
                    used[section].add(component)
                else:
                    problems.append(f"pipeline {name}: {role[:-1]} {component} is not defined")
            if len(set(ids)) != len(ids):
                problems.append(f"pipeline {name}: {role} lists a component twice")
        processors = pipeline.get("processors") or []
        # This repo's rule (the issue's): memory_limiter first, then batch, in every pipeline.
        if processors[:1] != ["memory_limiter"] or "batch" not in processors:
            problems.append(f"pipeline {name}: processors must start with memory_limiter and include batch")
    for section in ("receivers", "processors", "exporters"):
        for component in sorted(defined[section] - used[section]):
            problems.append(f"{section}: {component} is defined but no pipeline uses it")
    return problems


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1].rstrip("/"))


def _published(service: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """Container port -> (host address, host port) of a compose service's `ports`."""
    published: dict[int, tuple[str, int]] = {}
    for entry in service.get("ports") or []:
        parts = str(entry).split(":")
        host, host_port, container = parts if len(parts) == 3 else ("0.0.0.0", *parts)
        published[int(container.split("/")[0])] = (host, int(host_port))
    return published


def stack_problems(stack: Stack) -> list[str]:
    """Config problems, and every port or path that differs between the three files."""
    problems = config_problems(stack.config)
    services = stack.compose.get("services") or {}
    collector = services.get(COLLECTOR_SERVICE)
    jaeger = services.get(JAEGER_SERVICE)
    if collector is None or jaeger is None:
        return [*problems, f"compose: services {COLLECTOR_SERVICE} and {JAEGER_SERVICE} are both needed"]

    for service_name, service in services.items():
        for container, (host, _) in _published(service).items():
            if host != "127.0.0.1":
                problems.append(f"compose: {service_name} publishes {container} on {host}, not 127.0.0.1")

    # The config file the collector reads is the one at the top of the repository.
    command = " ".join(collector.get("command") or [])
    config_path = re.search(r"--config[= ](\S+)", command)
    mounts = {}
    for volume in collector.get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        mounts[target] = (stack.compose_dir / source).resolve()
    if config_path is None or mounts.get(config_path.group(1)) != CONFIG:
        problems.append(f"compose: the collector's --config is not {CONFIG.name} mounted from the repository")

    # Receivers: the OTLP ports the config listens on are the ones compose publishes.
    protocols = ((stack.config.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}
    collector_ports = _published(collector)
    host_ports: dict[str, int] = {}
    for protocol, standard in (("grpc", 4317), ("http", 4318)):
        endpoint = (protocols.get(protocol) or {}).get("endpoint")
        if endpoint is None:
            problems.append(f"config: the otlp receiver has no {protocol} endpoint")
            continue
        port = _port(endpoint)
        if port != standard:
            problems.append(f"config: otlp {protocol} listens on {port}, not the OTLP default {standard}")
        if port not in collector_ports:
            problems.append(f"compose: {COLLECTOR_SERVICE} does not publish the otlp {protocol} port {port}")
        else:
            host_ports[protocol] = collector_ports[port][1]

    # Exporters: every OTLP exporter reaches Jaeger by its compose service name and OTLP port.
    depends = collector.get("depends_on") or []
    for name, exporter in (stack.config.get("exporters") or {}).items():
        if not name.startswith("otlp"):
            continue
        endpoint = str((exporter or {}).get("endpoint", ""))
        host = re.sub(r"^\w+://", "", endpoint).rsplit(":", 1)[0]
        if host != JAEGER_SERVICE or _port(endpoint) != JAEGER_OTLP_GRPC:
            problems.append(
                f"config: exporter {name} sends to {endpoint}, not {JAEGER_SERVICE}:{JAEGER_OTLP_GRPC}"
            )
        if not ((exporter or {}).get("tls") or {}).get("insecure"):
            problems.append(f"config: exporter {name} would use TLS, which Jaeger's plain port refuses")
        if JAEGER_SERVICE not in depends:
            problems.append(f"compose: {COLLECTOR_SERVICE} does not depend on {JAEGER_SERVICE}")
    ui = _published(jaeger).get(JAEGER_UI)
    if ui is None:
        problems.append(f"compose: {JAEGER_SERVICE} does not publish its UI port {JAEGER_UI}")

    # The README's commands and links use those same ports and that compose file.
    text = stack.readme_section
    if not text:
        return [*problems, "README: no '## View in Jaeger' section"]
    compose_command = re.search(r"docker compose -f (\S+) up -d", text)
    if compose_command is None or (REPO / compose_command.group(1)).resolve() != COMPOSE.resolve():
        problems.append(f"README: no `docker compose -f {COMPOSE.relative_to(REPO)} up -d`")
    endpoints = re.findall(r"OTEL_EXPORTER_OTLP_ENDPOINT=http://(?:localhost|127\.0\.0\.1):(\d+)", text)
    readme_protocol = re.search(r"OTEL_EXPORTER_OTLP_PROTOCOL=(\S+)", text)
    expected = host_ports.get("grpc" if readme_protocol and readme_protocol.group(1) == "grpc" else "http")
    if not endpoints:
        problems.append("README: no OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:PORT")
    for port_text in endpoints:
        if int(port_text) != expected:
            problems.append(
                f"README: OTEL_EXPORTER_OTLP_ENDPOINT uses {port_text}; the collector's port is {expected}"
            )
    for port_text, protocol_name in re.findall(r"(\d{4,5}) \((gRPC|HTTP)\)", text):
        if int(port_text) != host_ports.get(protocol_name.lower()):
            problems.append(f"README: says {protocol_name} on {port_text}; compose publishes {host_ports}")
    # "open http://localhost:PORT": the link a reader follows to the UI.
    ui_ports = {int(port) for port in re.findall(r"[Oo]pen http://(?:localhost|127\.0\.0\.1):(\d+)", text)}
    if ui is None or ui_ports != {ui[1]}:
        problems.append(f"README: the Jaeger UI link uses {sorted(ui_ports)}; compose publishes {ui}")
    return problems


def test_the_stack_is_consistent() -> None:
    assert stack_problems(load()) == []


def test_every_component_a_pipeline_names_is_defined() -> None:
    config = load().config
    for pipeline in config["service"]["pipelines"].values():
        for role in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(role, [])) <= set(config[role]), pipeline


def test_traces_reach_jaeger_and_the_log_and_metrics_the_log() -> None:
    pipelines = load().config["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["otlp/jaeger", "debug"]
    assert pipelines["metrics"]["exporters"] == ["debug"]


# (file, text in it, its replacement, a problem the broken copy must produce)
BREAKAGES = [
    pytest.param(
        "config",
        "  otlp/jaeger:\n",
        "  otlp/tempo:\n",
        "exporter otlp/jaeger is not defined",
        id="undefined-exporter",
    ),
    pytest.param(
        "config",
        "processors: [memory_limiter, batch]\n      exporters: [otlp/jaeger, debug]",
        "processors: [memory_limiter, batching]\n      exporters: [otlp/jaeger, debug]",
        "processor batching is not defined",
        id="misspelt-processor",
    ),
    pytest.param(
        "config",
        "      receivers: [otlp]\n      processors: [memory_limiter, batch]\n      exporters: [debug]",
        "      receivers: []\n      processors: [memory_limiter, batch]\n      exporters: [debug]",
        "pipeline metrics: must have at least one of receivers",
        id="pipeline-without-receivers",
    ),
    pytest.param(
        "config",
        "processors: [memory_limiter, batch]\n      exporters: [otlp/jaeger, debug]",
        "processors: [batch, memory_limiter]\n      exporters: [otlp/jaeger, debug]",
        "pipeline traces: processors must start with memory_limiter",
        id="memory-limiter-not-first",
    ),
    pytest.param("config", "  debug:\n", "  logging:\n", "unknown type 'logging'", id="unknown-type"),
    pytest.param(
        "config",
        "endpoint: 0.0.0.0:4318",
        "endpoint: 0.0.0.0:4319",
        "not publish the otlp http port 4319",
        id="http-port",
    ),
    pytest.param(
        "config", "endpoint: jaeger:4317", "endpoint: jaeger:14250", "sends to jaeger:14250", id="jaeger-port"
    ),
    pytest.param("config", "insecure: true", "insecure: false", "would use TLS", id="tls"),
    pytest.param(
        "compose",
        '"127.0.0.1:4318:4318"',
        '"4318:4318"',
        "publishes 4318 on 0.0.0.0",
        id="published-everywhere",
    ),
    pytest.param(
        "compose",
        '"127.0.0.1:4318:4318"',
        '"127.0.0.1:14318:4318"',
        "OTEL_EXPORTER_OTLP_ENDPOINT uses 4318; the collector's port is 14318",
        id="host-port-differs-from-readme",
    ),
    pytest.param(
        "compose",
        "../../collector-config.yaml:/etc/otelcol-contrib/config.yaml",
        "../../collector-config.yaml:/etc/otelcol/config.yaml",
        "--config is not collector-config.yaml",
        id="config-mounted-elsewhere",
    ),
    pytest.param(
        "compose",
        '"127.0.0.1:16686:16686"',
        '"127.0.0.1:16687:16686"',
        "Jaeger UI link uses [16686]",
        id="ui-port",
    ),
    pytest.param(
        "readme",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317",
        "OTEL_EXPORTER_OTLP_ENDPOINT uses 4317",
        id="readme-endpoint",
    ),
    pytest.param(
        "readme",
        "docker compose -f examples/jaeger/compose.yaml up -d",
        "docker compose -f examples/compose.yaml up -d",
        "README: no `docker compose -f examples/jaeger/compose.yaml up -d`",
        id="readme-compose-path",
    ),
]


@pytest.mark.parametrize(("which", "old", "new", "problem"), BREAKAGES)
def test_a_broken_copy_is_refused(tmp_path: Path, which: str, old: str, new: str, problem: str) -> None:
    # A copy of the repository's three files, laid out as in the repository, with one edit.
    config = tmp_path / "collector-config.yaml"
    compose = tmp_path / "examples" / "jaeger" / "compose.yaml"
    readme = tmp_path / "README.md"
    compose.parent.mkdir(parents=True)
    for source, copy in ((CONFIG, config), (COMPOSE, compose), (README, readme)):
        shutil.copyfile(source, copy)
    broken = {"config": config, "compose": compose, "readme": readme}[which]
    text = broken.read_text()
    assert old in text, f"the breakage no longer applies: {old!r} is not in {broken.name}"
    broken.write_text(text.replace(old, new, 1))
    stack = load(config, compose, readme)
    # The copy's compose mounts ../../collector-config.yaml, i.e. the copy; judge it as the original.
    problems = stack_problems(Stack(stack.config, stack.compose, COMPOSE.parent, stack.readme_section))
    assert any(problem in found for found in problems), problems
