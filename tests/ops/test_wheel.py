"""The wheel runs anywhere: installed into a fresh virtualenv, its demo serves GraphiQL from an empty folder.

``python -m build`` makes a wheel that carries GraphiQL's files; once it is installed into a fresh virtualenv,
``sessions-gateway demo`` run from an empty folder serves GraphiQL's page and files, which render in Chromium.

Slow-ish but required (about half a minute): the build and the install run once for the module, the install
pulling the pinned dependencies (``constraints.txt``) through pip's cache. It needs ``npm ci`` to have run in
``graphiql/``, as the rest of the suite does. Also here: every third-party module the gateway imports is a
declared dependency.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from packaging.requirements import Requirement

from sessions_gateway.gateway import graphiql, graphiql_tabs
from tests.api.test_graphiql import BROWSER, PageParts
from tests.ops.test_demo import running_demo
from tests.ops.test_graphiql_browser import check_graphiql_in_chromium, chromium  # noqa: F401  (a fixture)

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ["gateway", "schema", "resolvers", "loaders", "db"]
NAMESPACE = "sessions_gateway"  # the one top-level name the folders install under
PACKAGED = f"{NAMESPACE}/gateway/graphiql_files"
NPM_PACKAGES = ("graphiql", "react", "react-dom", "@graphiql/plugin-explorer", "chart.js")
# each package's licence file: @graphiql/plugin-explorer ships none, its package.json names it (MIT)
LICENCES = {"graphiql": "LICENSE", "react": "LICENSE", "react-dom": "LICENSE", "chart.js": "LICENSE.md"}
# and the licence of what a package's build bundles, installed inside it
BUNDLED_LICENCES = ["@graphiql/plugin-explorer/node_modules/graphiql-explorer/LICENSE"]
BUILD_SECONDS = 300
INSTALL_SECONDS = 600
DEMO_SESSIONS = 40


def build(source: Path, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``python -m build`` of ``source`` into ``out``, as a person would run it; its output, errors included."""
    return subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
        [sys.executable, "-m", "build", "--outdir", str(out), *options, str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=BUILD_SECONDS,
        check=False,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``python -m build`` makes of this checkout (from its sdist, as the tool does by default)."""
    out = tmp_path_factory.mktemp("dist")
    built = build(REPO, out)
    assert built.returncode == 0, built.stdout
    [made] = out.glob("*.whl")
    return made


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv (no system site-packages) with the wheel installed: its bin/ folder."""
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(home)
    pip = subprocess.run(  # noqa: S603  (the new venv's pip, fixed arguments)
        [str(home / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(REPO / "constraints.txt"), str(wheel)],
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return home / "bin"


@pytest.fixture
def installed_demo(installed: Path, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """The installed ``sessions-gateway demo``, run from an empty folder: base URL, token, database."""
    folder = tmp_path / "empty"
    folder.mkdir()
    with running_demo(folder, DEMO_SESSIONS, log_name="../demo.log", script=installed / "sessions-gateway") as (
        base,
        token,
        _log,
    ):
        yield base, token, folder / "sessions-demo.db"


def served_files() -> dict[str, Path]:
    """What the page loads, by the path GraphiQL's files have in the repository."""
    return {relative: graphiql.SOURCE_ROOT / relative for relative, _ in graphiql.ASSETS.values()}


def test_the_wheel_carries_graphiqls_files_their_licences_and_pins(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for relative, source in served_files().items():
            assert archive.read(f"{PACKAGED}/{relative}") == source.read_bytes(), relative
        for package in NPM_PACKAGES:
            manifest = json.loads(archive.read(f"{PACKAGED}/node_modules/{package}/package.json"))
            if package in LICENCES:
                assert f"{PACKAGED}/node_modules/{package}/{LICENCES[package]}" in names
            else:
                assert manifest["license"] == "MIT", package
            locked = json.loads(archive.read(f"{PACKAGED}/package-lock.json"))["packages"]
            assert manifest["version"] == locked[f"node_modules/{package}"]["version"], package
        # and the docs' pages the example tabs are read from, as in this checkout
        for page in graphiql_tabs.EXAMPLE_PAGES:
            assert archive.read(f"{PACKAGED}/{graphiql_tabs.PAGES_DIR}/{page}") == (REPO / page).read_bytes(), page
    # nothing else from node_modules: the served files, and each package's licence and package.json
    carried = {name.removeprefix(f"{PACKAGED}/") for name in names if name.startswith(f"{PACKAGED}/node_modules/")}
    assert carried == {relative for relative in served_files() if relative.startswith("node_modules/")} | {
        f"node_modules/{package}/package.json" for package in NPM_PACKAGES
    } | {f"node_modules/{package}/{name}" for package, name in LICENCES.items()} | {
        f"node_modules/{relative}" for relative in BUNDLED_LICENCES
    }


def test_the_installed_demo_serves_graphiql_from_an_empty_folder(
    installed: Path, installed_demo: tuple[str, str, Path]
) -> None:
    base, _token, _database = installed_demo
    page = httpx.get(f"{base}/graphql", headers=BROWSER, timeout=10)
    assets = {name: httpx.get(f"{base}/graphiql/assets/{name}", timeout=10) for name in graphiql.ASSETS}
    where = subprocess.run(  # noqa: S603  (the venv's python, fixed arguments)
        [str(installed / "python"), "-c", "from sessions_gateway.gateway import graphiql; print(graphiql.ROOT)"],
        capture_output=True,
        text=True,
        cwd=installed,  # not this checkout, whose packages python -c would import first
        timeout=30,
        check=True,
    ).stdout.strip()
    assert page.status_code == 200, page.text
    assert "<title>GraphiQL · sessions-gateway</title>" in page.text
    assert sorted(PageParts(page.text).urls) == sorted(["data:,", *(f"graphiql/assets/{n}" for n in graphiql.ASSETS)])
    for name, response in assets.items():
        relative, media_type = graphiql.ASSETS[name]
        assert response.status_code == 200, name
        assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
        assert response.content == (graphiql.SOURCE_ROOT / relative).read_bytes(), name
    # served from inside the installed package, not from this checkout
    assert Path(where).is_relative_to(installed.parent), where
    # and its tabs are the docs' examples, read from the pages the package carries
    tabs = PageParts(page.text).config["tabs"]
    examples = graphiql_tabs.examples(REPO)
    assert [tab["query"] for tab in tabs[1:]] == [examples[tab.operation] for tab in graphiql_tabs.TABS[1:]]
    assert Path(where).name == "graphiql_files"


def test_the_installed_demos_graphiql_renders_in_chromium(
    chromium: Path,  # noqa: F811  (the fixture)
    installed_demo: tuple[str, str, Path],
) -> None:
    base, token, database = installed_demo
    check_graphiql_in_chromium(chromium, base, token, database)


def test_the_wheel_installs_one_top_level_package(wheel: Path, installed: Path) -> None:
    """The distribution owns one name in site-packages: ``sessions_gateway``, beside its dist-info and script."""
    with zipfile.ZipFile(wheel) as archive:
        top_level = {name.split("/")[0] for name in archive.namelist()}
    [dist_info] = [name for name in top_level if name.endswith(".dist-info")]
    assert top_level == {NAMESPACE, dist_info}
    shown = subprocess.run(  # noqa: S603  (the venv's pip, fixed arguments)
        [str(installed / "python"), "-m", "pip", "show", "--files", "sessions-gateway"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    files = shown.split("\nFiles:\n", 1)[1].split()
    assert {Path(name).parts[0] for name in files if not name.startswith("..")} == {NAMESPACE, dist_info}
    assert [name for name in files if name.startswith("..")] == ["../../../bin/sessions-gateway"]
    assert {name.split("/")[1] for name in files if name.startswith(f"{NAMESPACE}/")} == {*PACKAGES}
    # none of the folders' own names is importable from the installed venv: nothing to shadow PyPI's "schema" or "db"
    probe = "import importlib.util as u; print([n for n in ARGS if u.find_spec(n)])".replace("ARGS", repr(PACKAGES))
    found = subprocess.run(  # noqa: S603  (the venv's python, fixed arguments)
        [str(installed / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd=installed,  # not this checkout, whose folders python -c would find first
        timeout=30,
        check=True,
    ).stdout.strip()
    assert found == "[]"


def _project_copy(tmp_path: Path) -> Path:
    """The project's packages and build files, with GraphiQL's pins but no npm ci run: a clean clone."""
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "node_modules")
    for package in PACKAGES:
        shutil.copytree(REPO / package, copy / package, ignore=ignore)
    shutil.copytree(REPO / "graphiql", copy / "graphiql", ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.md", *graphiql_tabs.EXAMPLE_PAGES):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, copy / name)
    return copy


@pytest.mark.parametrize("artifact", ["--sdist", "--wheel"])
def test_a_build_before_npm_ci_stops_saying_what_to_run(tmp_path: Path, artifact: str) -> None:
    built = build(_project_copy(tmp_path), tmp_path / "dist", artifact)
    assert built.returncode != 0
    assert "GraphiQL's files are missing (graphiql/node_modules/graphiql/graphiql.min.css," in built.stdout
    assert "run `make install` (it runs `npm ci` in graphiql/) before building" in built.stdout
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())


def test_a_build_with_other_versions_than_the_locks_stops(tmp_path: Path) -> None:
    copy = _project_copy(tmp_path)
    source, target = REPO / "graphiql" / "node_modules", copy / "graphiql" / "node_modules"
    files = [
        relative.removeprefix("node_modules/") for relative in served_files() if relative.startswith("node_modules/")
    ]
    files += [f"{package}/package.json" for package in NPM_PACKAGES]
    files += [f"{package}/{name}" for package, name in LICENCES.items()] + BUNDLED_LICENCES
    for relative in files:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target / relative)
    manifest = json.loads((target / "react" / "package.json").read_text())
    (target / "react" / "package.json").write_text(json.dumps({**manifest, "version": "18.2.0"}))
    built = build(copy, tmp_path / "dist", "--wheel")
    assert built.returncode != 0
    assert "graphiql/node_modules/react is 18.2.0, the lock pins 18.3.1: run `make install`" in built.stdout


def _imported_top_level_modules() -> set[str]:
    """Every module the gateway's packages import, by its top-level name (lazy imports in functions too)."""
    names: set[str] = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_every_third_party_module_the_gateway_imports_is_a_declared_dependency() -> None:
    own = {NAMESPACE}
    third_party = {name for name in _imported_top_level_modules() - own if name not in sys.stdlib_module_names}
    distributions = importlib.metadata.packages_distributions()
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    # the runtime dependencies, and the optional extra whose modules are imported only when it is switched on
    requirements = [*project["dependencies"], *project["optional-dependencies"]["tracing"]]
    declared = {_normalized(Requirement(requirement).name) for requirement in requirements}
    undeclared = {
        name: distributions.get(name)
        for name in sorted(third_party)
        if not {_normalized(d) for d in distributions.get(name, [name])} & declared
    }
    assert "cross_web" in third_party
    assert "cryptography" in third_party
    assert undeclared == {}
