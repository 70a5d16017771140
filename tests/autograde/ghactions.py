"""A small local runner for one job of a GitHub Actions workflow (the tests of .github/workflows/).

    result = ghactions.Runner(tmp, repository="org/a1-alice", actor="alice",
                              repositories={"org/a1-alice": alice_repo}).run(WORKFLOW)
    result.status, result.annotations, result.summary, result.artifacts, result.log

Runs the steps of the job in order in a folder laid out like a GitHub-hosted runner
(`work/<repo>/<repo>` is GITHUB_WORKSPACE, `temp` is RUNNER_TEMP, `home` is HOME), with the
step files GITHUB_ENV (its lines are exported to the later steps), GITHUB_PATH, GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY, job and step `env`, `working-directory`, `if:` (with the implicit
`success() &&`), `timeout-minutes`, and `${{ ... }}` expressions over the contexts github, inputs,
vars, secrets and env (literals, `.` access, `!`, `==`, `!=` with GitHub's loose typing, `&&`,
`||`, always/success/failure/cancelled). `run:` steps run for real with the shell Actions uses
(`bash -e` when no `shell:` is given, `bash --noprofile --norc -eo pipefail` for `shell: bash`);
`::notice`/`::warning`/`::error` lines of their output become annotations, except between
`::stop-commands::TOKEN` and `::TOKEN::` (the runner ignores workflow commands there).

The `uses:` steps are emulated: actions/checkout clones a local git repository (Runner's
`repositories`, by owner/name; `deploy_keys` makes a repository private: its checkout needs that
key as `ssh-key`); actions/setup-python puts the machine's python3.11 on PATH (checks
`cache-dependency-path` exists, as the action does); actions/cache restores a folder the caller
provides for the key (`caches`); actions/upload-artifact checks the path and records it.
Anything else this runner does not know (another action, key, context or function, another
shell) raises Unsupported, so an edit of a workflow cannot pass untested.

`venv_seed` (a virtualenv) emulates a warm pip cache for `python3.11 -m venv DIR`: the venv is
created for real, then the distributions pinned in ./requirements.txt are hard-linked in from
the seed, so the pip commands that follow (run for real, with PIP_NO_INDEX) find them installed
instead of downloading them. Without `venv_seed` everything comes from the package registry.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve()


class Unsupported(Exception):
    """The workflow uses something this runner does not emulate: extend the runner first."""


# ---- expressions -------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)"
                    r"|(?P<op>\|\||&&|==|!=|!|\(|\)|\.)|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))")
_STATUS_FUNCTIONS = ("always", "success", "failure", "cancelled")


def _tokens(text):
    pos, out = 0, []
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise Unsupported(f"expression {text!r}: cannot read {text[pos:]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _number(value):
    """GitHub's conversion to a number for loose comparisons."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


def _equal(a, b):
    if type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                              and not isinstance(a, bool) and not isinstance(b, bool)):
        return a.lower() == b.lower() if isinstance(a, str) else a == b
    return _number(a) == _number(b)   # NaN is equal to nothing


def _truthy(value):
    return not (value is None or value is False or value == "" or
                (isinstance(value, (int, float)) and (value == 0 or math.isnan(value))))


class _Parser:
    def __init__(self, text, contexts, status):
        self.text, self.toks, self.i = text, _tokens(text), 0
        self.contexts, self.status = contexts, status
        self.used_status = False

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise Unsupported(f"expression {self.text!r}: expected {value or 'more'}")
        self.i += 1
        return tok

    def parse(self):
        value = self.or_()
        if self.i != len(self.toks):
            raise Unsupported(f"expression {self.text!r}: unexpected {self.peek()[1]!r}")
        return value

    def or_(self):
        value = self.and_()
        while self.peek()[1] == "||":
            self.take()
            right = self.and_()
            value = value if _truthy(value) else right
        return value

    def and_(self):
        value = self.cmp()
        while self.peek()[1] == "&&":
            self.take()
            right = self.cmp()
            value = right if _truthy(value) else value
        return value

    def cmp(self):
        value = self.unary()
        if self.peek()[1] in ("==", "!="):
            op = self.take()[1]
            equal = _equal(value, self.unary())
            value = equal if op == "==" else not equal
        return value

    def unary(self):
        if self.peek()[1] == "!":
            self.take()
            return not _truthy(self.unary())
        return self.primary()

    def primary(self):
        kind, tok = self.take()
        if kind == "str":
            return tok[1:-1].replace("''", "'")
        if kind == "num":
            return float(tok)
        if tok == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise Unsupported(f"expression {self.text!r}: unexpected {tok!r}")
        if tok in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok]
        if self.peek()[1] == "(":
            if tok not in _STATUS_FUNCTIONS:
                raise Unsupported(f"expression {self.text!r}: function {tok}() not emulated")
            self.take("(")
            self.take(")")
            self.used_status = True
            return {"always": True, "cancelled": False, "success": self.status == "success",
                    "failure": self.status == "failure"}[tok]
        if tok not in self.contexts:
            raise Unsupported(f"expression {self.text!r}: context {tok!r} not emulated")
        value = self.contexts[tok]
        while self.peek()[1] == ".":
            self.take()
            key = self.take()
            if key[0] != "name":
                raise Unsupported(f"expression {self.text!r}: bad property {key[1]!r}")
            value = value.get(key[1]) if isinstance(value, dict) else None
        return value


def evaluate(expression, contexts, status="success"):
    """Value of a GitHub expression (the text inside `${{ }}`)."""
    return _Parser(expression, contexts, status).parse()


def _as_text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def interpolate(value, contexts):
    """A workflow value with every `${{ expr }}` replaced by its value as text."""
    if not isinstance(value, str):
        return _as_text(value) if isinstance(value, (bool, int, float)) else value
    if "${{" in value and value.count("${{") != value.count("}}"):
        raise Unsupported(f"cannot read the expressions of {value!r}")
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _as_text(evaluate(m.group(1), contexts)),
                  value, flags=re.S)


def condition(text, contexts, status):
    """Whether a step with `if: text` runs (success() && text, unless it names a status)."""
    if text is None:
        return status == "success"
    text = str(text).strip()
    if text.startswith("${{") and text.endswith("}}") and text.count("${{") == 1:
        text = text[3:-2]
    parser = _Parser(text, contexts, status)
    value = _truthy(parser.parse())
    return value if parser.used_status else value and status == "success"


# ---- the runner --------------------------------------------------------------------------

@dataclass
class StepResult:
    name: str
    outcome: str              # success, failure or skipped
    seconds: float = 0.0
    output: str = ""


@dataclass
class JobResult:
    status: str
    steps: list
    workspace: Path
    annotations: list = field(default_factory=list)   # (level, title, message)
    summary: str = ""
    env: dict = field(default_factory=dict)             # what GITHUB_ENV set
    artifacts: dict = field(default_factory=dict)       # name -> path
    cache_saves: dict = field(default_factory=dict)     # key -> path saved at the job's end

    @property
    def log(self):
        return "\n".join(f"##[group]{s.name} ({s.outcome})\n{s.output}##[endgroup]"
                         for s in self.steps)


_JOB_KEYS = {"name", "runs-on", "timeout-minutes", "env", "steps"}
_STEP_KEYS = {"name", "id", "uses", "with", "run", "env", "if", "working-directory", "shell"}
_WORKFLOW_KEYS = {"name", "on", True, "permissions", "concurrency", "jobs"}
_WITH_KEYS = {
    "actions/checkout": {"repository", "ref", "token", "ssh-key", "path", "persist-credentials"},
    "actions/setup-python": {"python-version", "cache", "cache-dependency-path"},
    "actions/cache": {"path", "key", "restore-keys"},
    "actions/upload-artifact": {"name", "path", "if-no-files-found", "retention-days"},
}
_SHELLS = {None: ["bash", "-e"], "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"]}
_COMMAND = re.compile(r"^::(notice|warning|error)(?: ([^:]*))?::(.*)$")


def annotations(output):
    """[(level, title, message)] of the workflow commands in a step's output, as the runner
    reads them: none between `::stop-commands::TOKEN` and the line `::TOKEN::`."""
    found, stopped = [], None
    for line in output.splitlines():
        if stopped is not None:
            stopped = None if line == f"::{stopped}::" else stopped
            continue
        if line.startswith("::stop-commands::"):
            stopped = line[len("::stop-commands::"):]
            continue
        m = _COMMAND.match(line)
        if m:
            props = dict(p.split("=", 1) for p in (m.group(2) or "").split(",") if "=" in p)
            found.append((m.group(1), props.get("title", ""), m.group(3)))
    return found


def load_workflow(path):
    import yaml

    return yaml.safe_load(Path(path).read_text())


class Runner:
    """One job of a workflow, run on this machine (see the module docstring)."""

    def __init__(self, root, *, repository, actor, repositories, event="push", inputs=None,
                 vars=None, secrets=None, deploy_keys=None, caches=None, python=None,
                 venv_seed=None, env=None, path=()):
        self.root = Path(root)
        self.repository, self.actor, self.event = repository, actor, event
        self.repositories = {k: Path(v) for k, v in repositories.items()}
        self.inputs, self.vars = dict(inputs or {}), dict(vars or {})
        self.secrets = dict(secrets or {})
        self.deploy_keys, self.caches = dict(deploy_keys or {}), dict(caches or {})
        self.python = python or shutil.which("python3.11")
        self.venv_seed, self.extra_env = venv_seed, dict(env or {})
        self.extra_path = list(path)   # folders of tools the runner image has, before /usr/bin

    # -- set-up
    def _layout(self):
        name = self.repository.split("/")[-1]
        self.workspace = self.root / "work" / name / name
        self.temp, self.home = self.root / "temp", self.root / "home"
        self.toolcache = self.root / "toolcache"
        for d in (self.workspace, self.temp, self.home, self.toolcache):
            d.mkdir(parents=True, exist_ok=True)
        sha = subprocess.run(["git", "-C", str(self.repositories[self.repository]), "rev-parse",
                              "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        self.github = {"repository": self.repository, "repository_owner":
                       self.repository.split("/")[0], "actor": self.actor,
                       "event_name": self.event, "ref": "refs/heads/main", "sha": sha,
                       "workspace": str(self.workspace), "token": "ghs_emulated_job_token",
                       "run_id": "1", "job": "", "server_url": "https://github.com"}
        self.path_prefix = []

    def _inputs(self, workflow):
        triggers = workflow.get("on", workflow.get(True))
        triggers = {triggers: None} if isinstance(triggers, str) else (
            dict.fromkeys(triggers) if isinstance(triggers, list) else triggers)
        if self.event not in triggers:
            raise Unsupported(f"the workflow is not triggered by {self.event!r}")
        if self.event != "workflow_dispatch":
            return {}   # `inputs` is empty on push
        spec = (triggers["workflow_dispatch"] or {}).get("inputs") or {}
        unknown = set(self.inputs) - set(spec)
        if unknown:
            raise Unsupported(f"inputs {sorted(unknown)} are not declared by the workflow")
        return {k: self.inputs.get(k, (v or {}).get("default", "")) for k, v in spec.items()}

    def contexts(self, env):
        return {"github": self.github, "inputs": self.input_values, "vars": self.vars,
                "secrets": {"GITHUB_TOKEN": self.github["token"], **self.secrets}, "env": env}

    # -- the job
    def run(self, workflow_path, job=None):
        workflow = load_workflow(workflow_path)
        extra = set(workflow) - _WORKFLOW_KEYS
        if extra:
            raise Unsupported(f"workflow keys {sorted(map(str, extra))} not emulated")
        self._layout()
        self.input_values = self._inputs(workflow)
        job = job or next(iter(workflow["jobs"]))
        spec = workflow["jobs"][job]
        if set(spec) - _JOB_KEYS:
            raise Unsupported(f"job keys {sorted(set(spec) - _JOB_KEYS)} not emulated")
        self.github["job"] = job
        # Expressions outside the steps are evaluated too, so none goes unchecked.
        interpolate((workflow.get("concurrency") or {}).get("group", ""), self.contexts({}))
        job_env = {k: interpolate(v, self.contexts({})) for k, v in (spec.get("env") or
                                                                     {}).items()}
        deadline = time.monotonic() + 60 * float(spec.get("timeout-minutes", 360))
        result = JobResult("success", [], self.workspace)
        self.result, self.set_env = result, {}
        for index, step in enumerate(spec["steps"]):
            if set(step) - _STEP_KEYS:
                raise Unsupported(f"step keys {sorted(set(step) - _STEP_KEYS)} not emulated")
            name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
            env = {**job_env, **self.set_env}
            if not condition(step.get("if"), self.contexts(env), result.status):
                result.steps.append(StepResult(name, "skipped"))
                continue
            start = time.monotonic()
            env.update({k: interpolate(v, self.contexts(env))
                        for k, v in (step.get("env") or {}).items()})
            try:
                if "uses" in step:
                    ok, output = self._uses(step, env)
                else:
                    ok, output = self._run(index, step, env, deadline)
            except subprocess.TimeoutExpired:
                ok, output = False, f"the job exceeded timeout-minutes ({spec['timeout-minutes']})"
            result.steps.append(StepResult(name, "success" if ok else "failure",
                                           round(time.monotonic() - start, 1), output))
            if not ok:
                result.status = "failure"
        result.env = dict(self.set_env)
        for key, path in self.cache_misses():
            if path.exists():
                result.cache_saves[key] = path
        return result

    def cache_misses(self):
        return getattr(self, "_misses", [])

    def _base_env(self, files):
        path = ":".join([*self.path_prefix, *self.extra_path, "/usr/local/bin", "/usr/bin",
                         "/bin"])
        return {"PATH": path, "HOME": str(self.home), "USER": "runner", "LANG": "C.UTF-8",
                "CI": "true",
                "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_REPOSITORY": self.repository, "GITHUB_ACTOR": self.actor,
                "GITHUB_EVENT_NAME": self.event, "GITHUB_REF": self.github["ref"],
                "GITHUB_SHA": self.github["sha"], "RUNNER_OS": "Linux",
                "RUNNER_TEMP": str(self.temp), "RUNNER_TOOL_CACHE": str(self.toolcache),
                **files, **self.extra_env}

    def _run(self, index, step, env, deadline):
        shell = step.get("shell")
        if shell not in _SHELLS:
            raise Unsupported(f"shell {shell!r} not emulated")
        commands = self.temp / "_runner_file_commands"
        commands.mkdir(exist_ok=True)
        files = {var: str(commands / f"{var.lower()}_{index}") for var in
                 ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
        for f in files.values():
            Path(f).touch()
        script = self.temp / f"{uuid.uuid4()}.sh"
        script.write_text(interpolate(step["run"], self.contexts(env)))
        cwd = self.workspace / interpolate(step.get("working-directory", "."),
                                           self.contexts(env))
        if not cwd.is_dir():
            return False, f"working-directory {cwd} does not exist"
        proc = subprocess.run([*_SHELLS[shell], str(script)], cwd=cwd,
                              env={**self._base_env(files), **env}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=max(1.0, deadline - time.monotonic()))
        self.result.annotations += annotations(proc.stdout)
        self.set_env.update(_read_env_file(Path(files["GITHUB_ENV"])))
        self.path_prefix[:0] = reversed(Path(files["GITHUB_PATH"]).read_text().split())
        self.result.summary += Path(files["GITHUB_STEP_SUMMARY"]).read_text()
        return proc.returncode == 0, proc.stdout + f"(exit code {proc.returncode})\n"

    # -- the emulated actions
    def _uses(self, step, env):
        action, _, version = step["uses"].partition("@")
        if action not in _WITH_KEYS or not version:
            raise Unsupported(f"action {step['uses']!r} not emulated")
        given = {k: interpolate(v, self.contexts(env)) for k, v in (step.get("with") or
                                                                   {}).items()}
        if set(given) - _WITH_KEYS[action]:
            raise Unsupported(f"{action}: inputs {sorted(set(given) - _WITH_KEYS[action])} "
                              "not emulated")
        return getattr(self, "_" + action.split("/")[1].replace("-", "_"))(given)

    def _inside(self, rel):
        path = (self.workspace / (rel or ".")).resolve()
        if path != self.workspace and self.workspace not in path.parents:
            raise Unsupported(f"path {rel!r} is outside GITHUB_WORKSPACE")
        return path

    def _checkout(self, given):
        repo = given.get("repository") or self.repository
        if repo not in self.repositories:
            return False, f"checkout: repository {repo!r} not found"
        key = self.deploy_keys.get(repo)
        if key is not None and given.get("ssh-key") != key:
            return False, f"checkout: {repo} is private and no valid ssh-key was given"
        dest = self._inside(given.get("path"))
        if dest.exists() and any(dest.iterdir()):
            shutil.rmtree(dest)   # the action empties a folder that is not its repository
        ref = given.get("ref") or (self.github["sha"] if repo == self.repository else "")
        out = _git("clone", "--quiet", str(self.repositories[repo]), str(dest))
        if ref:
            out += _git("-C", str(dest), "checkout", "--quiet", "--detach", ref)
        return True, out + f"checked out {repo}@{ref or 'default branch'} into {dest}\n"

    def _setup_python(self, given):
        if str(given.get("python-version")) != "3.11":
            raise Unsupported(f"setup-python: only 3.11 is emulated, not "
                              f"{given.get('python-version')!r}")
        real = Path(subprocess.run([self.python, "-c", "import sys; print(sys.executable)"],
                                   capture_output=True, text=True, check=True).stdout.strip())
        if given.get("cache") == "pip":
            dep = given.get("cache-dependency-path") or "requirements.txt"
            if not self._inside(dep).is_file():
                return False, f"setup-python: no file matched {dep} (cache-dependency-path)"
        elif given.get("cache"):
            raise Unsupported(f"setup-python: cache {given['cache']!r} not emulated")
        # The installation's own bin folder goes on PATH, as the action does with its tool
        # cache: a venv made from it links to the interpreter itself, never through a link
        # in another folder (which the grader's jail would not mount).
        self.path_prefix.insert(0, str(real.parent))
        if self.venv_seed:
            bindir = self.toolcache / "seeding-python"
            bindir.mkdir(parents=True, exist_ok=True)
            for name in ("python3.11", "python3", "python"):
                (bindir / name).write_text(_SEEDING_PYTHON.format(real=real, runner=HERE,
                                                                  seed=self.venv_seed))
                (bindir / name).chmod(0o755)
            self.path_prefix.insert(0, str(bindir))
        self.set_env["pythonLocation"] = str(real.parent.parent)
        return True, f"python {real} on PATH\n"

    def _cache(self, given):
        key, path = given["key"], self._inside(given["path"])
        if key in self.caches:
            shutil.copytree(self.caches[key], path, dirs_exist_ok=True)
            return True, f"cache hit for {key}: restored {path}\n"
        self._misses = [*self.cache_misses(), (key, path)]
        return True, f"cache miss for {key}\n"

    def _upload_artifact(self, given):
        path = self._inside(given["path"])
        if path.exists():
            self.result.artifacts[given["name"]] = path
            return True, f"artifact {given['name']}: {path}\n"
        mode = given.get("if-no-files-found", "warn")
        if mode == "error":
            return False, f"no files were found with the provided path: {path}\n"
        if mode == "warn":
            self.result.annotations.append(("warning", "", f"no files found at {path}"))
        return True, f"no files found at {path}; no artifact uploaded\n"


def _git(*args):
    proc = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    return proc.stdout + proc.stderr


def _read_env_file(path):
    """NAME=value lines and NAME<<DELIM heredocs, as the runner reads GITHUB_ENV."""
    values, lines = {}, path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            values[name] = "\n".join(lines[i + 1:end])
            i = end
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        elif line.strip():
            raise Unsupported(f"GITHUB_ENV line {line!r} is not NAME=value")
        i += 1
    return values


# ---- the emulated pip cache --------------------------------------------------------------

_SEEDING_PYTHON = """#!/bin/bash
# setup-python's python3.11; `-m venv DIR` also seeds DIR (tests/autograde/ghactions.py).
if [ "$1" = -m ] && [ "$2" = venv ]; then
  "{real}" "$@" || exit
  exec "{real}" "{runner}" seed-venv "${{@: -1}}" --seed "{seed}"
fi
exec "{real}" "$@"
"""


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def seed_venv(venv, seed, requirements="requirements.txt"):
    """Hard-link the distributions pinned in `requirements` (plus pip and setuptools) from the
    virtualenv `seed` into the new virtualenv `venv`, as pip would install them from a cache."""
    from importlib.metadata import distributions

    venv, seed = Path(venv).resolve(), Path(seed).resolve()
    pins = dict(line.split("==") for line in Path(requirements).read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    wanted = {_canonical(k): v.strip() for k, v in pins.items()}
    wanted.update({"pip": None, "setuptools": None})
    site = "lib/python{}.{}/site-packages".format(*sys.version_info[:2])
    # What ensurepip put there (older pip, setuptools) goes, as an upgrade would remove it.
    for dist in distributions(path=[str(venv / site)]):
        if _canonical(dist.metadata["Name"]) in wanted:
            for f in dist.files or []:
                Path(dist.locate_file(f)).unlink(missing_ok=True)
    found = {}
    for dist in distributions(path=[str(seed / site)]):
        name = _canonical(dist.metadata["Name"])
        if name not in wanted or name in found:
            continue
        found[name] = dist.version
        for f in dist.files or []:
            src = Path(os.path.normpath(dist.locate_file(f)))
            if not src.is_file():
                continue
            dst = venv / src.relative_to(seed)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.exists():
                dst.unlink()
            head = src.read_bytes()[:2] if src.parent == seed / "bin" else b""
            if head == b"#!":   # scripts name their interpreter: point them at this venv
                text = src.read_bytes().replace(str(seed).encode(), str(venv).encode(), 1)
                dst.write_bytes(text)
                dst.chmod(src.stat().st_mode)
            else:
                os.link(src, dst)
    wrong = {k: (v, found.get(k)) for k, v in wanted.items()
             if k not in found or (v and found[k] != v)}
    if wrong:
        raise SystemExit(f"ghactions seed-venv: {seed} does not hold the pinned versions "
                         f"(wanted, found): {wrong}; run `make venv` there first")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "seed-venv" and sys.argv[3] == "--seed":
        seed_venv(sys.argv[2], sys.argv[4])
    else:
        sys.exit("usage: ghactions.py seed-venv VENV --seed SEED_VENV")
