"""Data flows one way: front ends (the command line, the bot) -> engine -> store / embedding / lexical
index, and inside the engine through its stages in order (STAGES). Checked on the import statements
themselves, so a shortcut cannot creep back in."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

INDEX, BOT = ROOT / "index", ROOT / "bot"


def imports(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved to newsbot.* names."""
    package = "newsbot." + ".".join(path.relative_to(ROOT).parent.parts)  # index/cli/x.py -> newsbot.index.cli
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out |= {f"{name}.{alias.name}" for alias in node.names}
    return out


# index/'s folders, in the order data flows through them: a stage may import the ones before it (and
# the records, errors and settings at index/'s top), never one after it.
STAGES = ("text", "i18n", "sources", "storage", "embedding", "ingest", "answering", "evaluation", "service", "cli")
BASE = {"newsbot.index.records", "newsbot.index.errors", "newsbot.index.settings", "newsbot.index.api"}


def engine_modules() -> list[Path]:
    return [p for p in INDEX.rglob("*.py") if "cli" not in p.relative_to(INDEX).parts]


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[:2] == ["newsbot", "index"] and parts[2] in STAGES else None


def test_index_holds_only_its_stages_and_the_engine_facade_with_its_records():
    folders = {p.name for p in INDEX.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(STAGES)
    assert {p.stem for p in INDEX.glob("*.py")} == {"__init__", "engine", "api", "records", "errors", "settings"}


def test_no_stage_imports_a_later_one_and_only_late_stages_open_the_engine():
    for path in INDEX.rglob("*.py"):
        stage = path.relative_to(INDEX).parts[0] if len(path.relative_to(INDEX).parts) > 1 else None
        if stage is None:
            continue
        for module in imports(path):
            other = stage_of(module)
            if other is not None:
                assert STAGES.index(other) <= STAGES.index(stage), f"{path.relative_to(ROOT)} ({stage}) imports {module}"
            if module == "newsbot.index.engine" or module.startswith("newsbot.index.engine."):
                assert STAGES.index(stage) >= STAGES.index("evaluation"), f"{path.relative_to(ROOT)} opens the engine"


def test_the_imports_are_resolved_the_way_python_does():
    assert "newsbot.index.engine" in imports(INDEX / "cli" / "shared.py")
    assert "newsbot.index.cli.shared" in imports(INDEX / "cli" / "main.py")


def test_no_engine_module_imports_a_front_end():
    for path in engine_modules():
        wrong = {m for m in imports(path) if m.startswith(("newsbot.index.cli", "newsbot.bot"))}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}: the engine must not know its front ends"


def test_the_bot_does_not_go_through_the_command_line():
    for path in BOT.rglob("*.py"):
        wrong = {m for m in imports(path) if m.startswith("newsbot.index.cli")}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_only_serve_imports_the_bot_from_the_command_line():
    users = {p.name for p in (INDEX / "cli").glob("*.py") if any(m.startswith("newsbot.bot") for m in imports(p))}
    assert users == {"service.py"}


def test_the_bots_cogs_and_helpers_never_import_the_client_that_loads_them():
    """app.py loads the Cogs by name; they, their views and checks see it only as services.Services."""
    for path in BOT.rglob("*.py"):
        if path.name != "app.py":
            wrong = {m for m in imports(path) if m == "newsbot.bot.app" or m.startswith("newsbot.bot.app.")}
            assert not wrong, f"{path.relative_to(ROOT)} imports the client: an import circle"


def test_no_module_of_the_package_imports_itself_back_through_another():
    """No import circle anywhere in index/ or bot/, lazy imports inside functions included."""
    modules = {}
    for path in [*INDEX.rglob("*.py"), *BOT.rglob("*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = "newsbot." + ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}
    # a package's __init__ is imported by its members: those edges are Python's, not a circle of ours
    graph = {n: {m for m in deps if not n.startswith(m + ".")} for n, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(dep):] + [node, dep])
                                     if dep in path else f"import circle through {node} -> {dep}")
            if dep not in state:
                visit(dep, path + [node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_no_test_module_imports_another_what_they_share_is_in_support():
    tests = ROOT / "tests"
    names = {p.stem for p in tests.rglob("test_*.py")}
    for path in tests.rglob("*.py"):
        borrowed = {m.split(".")[0] for m in imports(path)} & names
        assert not borrowed, f"{path.relative_to(ROOT)} imports {sorted(borrowed)}: move what it needs to tests/support/"


# The test folders beside index/'s stages: the facade at index/'s top, the bot, the training recipe, the
# project as a whole (its layout, its wheel); support/ and fixtures/ hold what tests share.
TEST_FOLDERS = set(STAGES) | {"engine", "bot", "training", "project", "support", "fixtures"}


def test_tests_are_in_folders_named_after_the_stage_or_front_end_they_test():
    tests = ROOT / "tests"
    assert not list(tests.glob("test_*.py")), "a test module at tests/'s top: put it in the folder of what it tests"
    folders = {p.name for p in tests.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))}
    assert folders <= TEST_FOLDERS, f"test folders not named after a stage or front end: {sorted(folders - TEST_FOLDERS)}"
    stems = [p.stem for p in tests.rglob("test_*.py")]
    assert len(stems) == len(set(stems)), "two test modules of one name: pytest imports them by their file name"
