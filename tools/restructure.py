#!/usr/bin/env python3
"""Issue 15: perform the mechanical part of the target layout (tools/restructure.py).

Run from the repository root, on a clean checkout of main (the shared venv's Python):

    .venv/bin/python tools/restructure.py            # restructure, stage the result with git
    .venv/bin/python tools/restructure.py --check    # only validate the plan against the tree
    .venv/bin/python tools/restructure.py --verify   # restructure, then run the checks
    .venv/bin/python tools/restructure.py --report-imports  # function-level imports, any tree

What it does, in this order (standard library only; Django is used to write the migrations):

1. Validates the plan against the tree: every file to move exists, every symbol to move is a
   top-level definition of its module, no destination is taken, no migration refers to a symbol
   that moves. A tree that changed under the plan stops the run with a list of what is missing.
2. Creates the packages (`common/`, the apps `realtime/` and `notifications/`, the
   `announcements/` subpackages) and `git mv`s whole files (history kept).
3. Moves top-level symbols between modules by name (a definition with its decorators and
   attached comments), folds modules into others, and adds to each destination the imports its
   new code needs.
4. Rewrites every reference in the code base (module and function-level imports, `module.name`
   uses, monkeypatched module attributes, dotted paths in strings such as `include()`,
   `monkeypatch.setattr("…")`, logger names, and dotted names and file paths in comments,
   docstrings and docs/*.md) to the new locations. Migrations are never touched.
5. Project wiring: INSTALLED_APPS, the Ninja routers a moved route needs, the app-label string
   references of models moved into a subpackage (no migration changes), `db_table` for the
   models that change app, shims at the old dotted paths of django-tasks tasks (their paths
   are stored in queued rows), and the state-only migrations (SeparateDatabaseAndState) of the
   two models that change app.
6. `ruff check --select I,F401 --fix` on the files it touched (import order, and the imports
   its moves left unused). No file is reformatted: prose that a longer dotted name pushed past
   100 characters is re-wrapped, and such a code line is formatted alone (`ruff format
   --range`).

A few edits no renaming can make are listed in FIXUPS (exact text, applied to the original
tree; one that no longer matches is reported at the end of the run, to be done by hand).

It is deterministic and idempotent: a second run finds the layout in place and does nothing;
a run on a half-restructured tree refuses. It never commits. See /work/briefs/arch-notes.md for
what is left to do by hand.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import subprocess
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path.cwd()
SELF = "tools/restructure.py"

# =============================================================================================
# The plan (moves.txt / draft.json, with the changes explained in the notes)
# =============================================================================================

#: New packages. The two apps get apps.py and migrations/; the others an empty __init__.py.
NEW_APPS = {
    "realtime": (
        "RealtimeConfig",
        "Waktu nyata",
        "The real-time floor: the event outbox (emit, push, relay), the dispatcher and the\n"
        "WebSocket gateway. It imports no feature app: apps register their WebSocket actions and\n"
        "subscriptions with realtime.gateway in `<app>/ws_actions.py`.",
    ),
    "notifications": (
        "NotificationsConfig",
        "Notifikasi",
        "In-app notifications and, later, the delivery ladder (Web Push, e-mail, SMS).",
    ),
}
NEW_PACKAGES = [
    "common",
    "announcements/receipts",
    "announcements/signing",
    "announcements/transparency",
    "announcements/verification",
]

#: Whole files, `git mv`ed.
MOVES = [
    ("announcements/ack_batch.py", "announcements/receipts/ack_batch.py"),
    ("announcements/api_log.py", "announcements/transparency/api.py"),
    ("announcements/api_receipts.py", "announcements/receipts/api.py"),
    ("announcements/check.py", "announcements/verification/cek.py"),
    ("announcements/checkpoints.py", "announcements/transparency/checkpoints.py"),
    ("announcements/delivery.py", "announcements/receipts/delivery.py"),
    ("announcements/log.py", "announcements/transparency/merkle.py"),
    ("announcements/log_selectors.py", "announcements/transparency/selectors.py"),
    ("announcements/log_services.py", "announcements/transparency/services.py"),
    ("announcements/receipt_selectors.py", "announcements/receipts/selectors.py"),
    ("announcements/receipts.py", "announcements/receipts/services.py"),
    ("announcements/reminders.py", "announcements/receipts/reminders.py"),
    ("announcements/rendering.py", "common/markdown.py"),
    ("announcements/signing.py", "announcements/signing/crypto.py"),
    ("announcements/urls_public.py", "announcements/verification/urls.py"),
    ("announcements/urls_receipts.py", "announcements/receipts/urls.py"),
    ("announcements/views_receipts.py", "announcements/receipts/views.py"),
    ("channels_app/consumers.py", "realtime/consumers.py"),
    ("channels_app/dispatch.py", "realtime/dispatch.py"),
    ("channels_app/gateway.py", "realtime/gateway.py"),
    ("channels_app/gateway_auth.py", "realtime/auth.py"),
    ("channels_app/gateway_daphne.py", "realtime/daphne.py"),
    ("channels_app/relay.py", "realtime/relay.py"),
    ("channels_app/routing.py", "realtime/routing.py"),
    ("comms/errors.py", "common/errors.py"),
    ("comms/heap.py", "realtime/heap.py"),
    ("comms/realtime.py", "realtime/outbox.py"),
]

#: Top-level symbols moved by name: (from, to, names). Paths are those of the original tree.
SPLITS = [
    ("comms/api.py", "accounts/api_auth.py",
     ["InvalidToken", "BearerTokenAuth", "SessionAuth", "require_scope"]),
    ("comms/api.py", "accounts/tokens.py", ["touch_token", "_LAST_USED_RESOLUTION_SECONDS"]),
    ("accounts/services.py", "accounts/audit.py", ["audit"]),
    ("accounts/services.py", "accounts/importer.py",
     ["import_job_start", "_count_lines", "import_job_run"]),
    # Changed: only the middleware goes to accounts. `bearer_secret` and `_header` read the ASGI
    # scope and know nothing of accounts; the origin check (realtime) needs them too.
    ("channels_app/gateway_auth.py", "accounts/ws_auth.py", ["BearerTokenMiddleware"]),
    ("announcements/views_public.py", "announcements/feeds.py", ["PublicFeed", "FEED_SIZE"]),
    ("announcements/services.py", "announcements/receipts/services.py", ["_insert_receipts"]),
    ("announcements/reminders.py", "announcements/receipts/services.py",
     ["publish_summary_later", "publish_summaries_later"]),
    ("announcements/permissions.py", "announcements/receipts/permissions.py",
     ["ReceiptScope", "_outermost", "access_receipt_stats", "_reaches", "access_own_receipt"]),
    ("announcements/models.py", "announcements/receipts/models.py", ["Receipt", "ReceiptNotice"]),
    ("announcements/services.py", "announcements/signing/keys.py",
     ["signing_key_create", "_next_whole_second", "active_key", "signing_key_rotate",
      "signing_key_revoke", "_key_for_signing"]),
    # Changed: ImmutableError goes with the signed records, so that the transparency models
    # (which raise it) need not import announcements.models (which imports them).
    ("announcements/models.py", "announcements/signing/models.py",
     ["ImmutableError", "SigningKey", "SignedRecord"]),
    ("announcements/views_public.py", "announcements/transparency/views.py",
     ["transparency_page"]),
    ("announcements/models.py", "announcements/transparency/models.py",
     ["AppendOnlyQuerySet", "AppendOnlyModel", "LogKind", "LogEntry", "LogKey", "Checkpoint",
      "Witness", "WitnessCosignature"]),
    ("announcements/selectors.py", "announcements/verification/selectors.py",
     ["Badge", "badge_for", "parse_code", "verification_for_code"]),
    ("announcements/api.py", "announcements/verification/api.py",
     ["verification_answer", "verify_code"]),
    ("announcements/views.py", "announcements/verification/views.py", ["verify"]),
    ("announcements/check.py", "announcements/verification/api.py",
     ["client_address", "rate_limit", "CheckIn", "CheckOut", "check_text_request"]),
    ("announcements/views_public.py", "announcements/verification/views.py", ["check_page"]),
    ("channels_app/models.py", "notifications/models.py", ["Notification"]),
    ("channels_app/services.py", "notifications/services.py", ["notification_mark_read"]),
    ("comms/realtime.py", "realtime/audience.py",
     ["Viewer", "audience_allows", "CONTROL_TYPES", "SUBSCRIPTION_CHANGED", "SESSION_ENDED"]),
    ("comms/realtime.py", "realtime/push.py",
     ["event_message", "claim_event", "CLAIM_LEASE", "_group_send_all", "_push_executor",
      "_push_lock", "_send", "push_claimed"]),
    ("comms/realtime.py", "realtime/relay.py", ["push_event"]),
    ("channels_app/models.py", "realtime/models.py", ["Event"]),
    ("accounts/services.py", "realtime/audience.py", ["session_hash"]),
]

#: Modules folded into another: every statement but the docstring and imports moves.
MERGES = [
    ("accounts/tasks.py", "accounts/importer.py"),
    ("announcements/tasks.py", "announcements/services.py"),
    ("channels_app/tasks.py", "realtime/relay.py"),
]

#: Docstrings of the modules this script creates.
NEW_DOCSTRINGS = {
    "accounts/api_auth.py": (
        "Authentication of the JSON API: personal API tokens (`Authorization: Bearer cmt_…`)\n"
        "or the browser session (with CSRF), and the token scopes (`require_scope`)."
    ),
    "accounts/audit.py": (
        "The audit trail: who did what to which object, when, from where."
    ),
    "accounts/ws_auth.py": (
        "WebSocket authentication by bearer token (handed to the gateway by comms.asgi)."
    ),
    "announcements/feeds.py": (
        "The public Atom feed of public announcements."
    ),
    "announcements/receipts/models.py": (
        "Receipts (one per recipient and announcement) and the reminders and escalations sent\n"
        "about them. Models of the announcements app (imported by announcements.models)."
    ),
    "announcements/receipts/permissions.py": (
        "Who may see receipts: the issuer's statistics and a recipient's own receipt."
    ),
    "announcements/signing/keys.py": (
        "The units' signing keys: creation, rotation, revocation, and the key a signature uses."
    ),
    "announcements/signing/models.py": (
        "Signed records and the units' signing keys. Models of the announcements app (imported\n"
        "by announcements.models)."
    ),
    "announcements/transparency/models.py": (
        "The transparency log: append-only entries, checkpoints, the log key, witnesses and\n"
        "their cosignatures. Models of the announcements app (imported by announcements.models)."
    ),
    "announcements/transparency/views.py": (
        "The public page of the transparency log."
    ),
    "announcements/verification/api.py": (
        "Public verification: the answer for a verification code (`/api/v1/verify/…`) and the\n"
        "request side of cek keaslian (rate limit, schemas)."
    ),
    "announcements/verification/selectors.py": (
        "Reads of public verification: a code's announcement and version, and its badge."
    ),
    "announcements/verification/views.py": (
        "Public verification pages: `/v/<code>` and `/cek`."
    ),
    "notifications/models.py": (
        "In-app notifications of a person."
    ),
    "notifications/services.py": (
        "Write paths of in-app notifications."
    ),
    "realtime/audience.py": (
        "Who may see an event: the viewer a connection holds in memory, the audience format of\n"
        "events, and the control events that steer the gateway."
    ),
    "realtime/models.py": (
        "The real-time event log (outbox): an `Event` row is written in the same transaction as\n"
        "the change it describes; realtime.outbox pushes it after commit and the relay re-pushes\n"
        "whatever was not pushed. Clients that missed events fetch them by id."
    ),
    "realtime/push.py": (
        "Pushing a committed event to its channel-layer groups: the claim (one pusher per\n"
        "event), the layer message, the send."
    ),
}

#: Model classes that change app: their table stays (db_table) and migrations move the state.
#: Filled from SPLITS at run time: {(old_label, model): new_label}.
MIGRATION_NAME = "move_event_notification"

#: Edits no renaming can make, applied to the original text before anything else (path, old,
#: new, why). One that no longer matches is reported, not applied: do it by hand.
FIXUPS = [
    ("tests/receipts/conftest.py",
     '''    """The task rows the database backend holds for '''
     '''`announcements.reminders.<task_name>`."""
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.filter(
        task_path=f"announcements.reminders.{task_name}").order_by("run_after"))
''',
     '''    """The task rows the database backend holds for the receipts task `task_name`."""
    from django_tasks_db.models import DBTaskResult

    from announcements import receipts, reminders

    task = getattr(reminders, task_name, None) or getattr(receipts, task_name)
    return list(DBTaskResult.objects.filter(task_path=task.module_path).order_by("run_after"))
''',
     "the receipts tasks now live in two modules: a path built from a name cannot be renamed"),
]
FIXUP_REPORT: list[str] = []

GENERIC_MODULE_NAMES = {
    "admin", "api", "apps", "forms", "models", "permissions", "selectors", "services",
    "tasks", "urls", "views",
}
SKIP_DIRS = {".venv", "var", "node_modules", ".git"}


class PlanError(Exception):
    pass


# =============================================================================================
# Source files
# =============================================================================================


def path_to_module(path: str) -> str:
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def module_to_path(module: str) -> str:
    return module.replace(".", "/") + ".py"


def is_migration(path: str) -> bool:
    return "/migrations/" in path


@dataclass
class Binding:
    kind: str  # def | import_sym | import_mod | tc_sym
    module: str = ""  # import source module (import_*), or the defining module (def)
    name: str = ""  # imported symbol name (import_sym, tc_sym)
    stmt: int = -1  # index of the top-level statement


@dataclass
class Stmt:
    index: int
    node: ast.stmt
    first: int  # first line (1-based), attached comments included
    last: int  # last line (1-based)
    names: list[str]
    kind: str  # docstring | future | import | typecheck | def | other


class Source:
    def __init__(self, path: str, text: str | None = None) -> None:
        self.path = path
        self.module = path_to_module(path)
        self.text = text if text is not None else (ROOT / path).read_text()
        self.lines = self.text.splitlines(keepends=True)
        self.tree = ast.parse(self.text)
        self._line_starts = [0]
        for line in self.lines:
            self._line_starts.append(self._line_starts[-1] + len(line))
        self.stmts = self._statements()
        self.bindings: dict[str, Binding] = {}
        for stmt in self.stmts:
            self._bind(stmt)

    # --- positions (ast columns are UTF-8 byte offsets) ---------------------------------------

    def offset(self, lineno: int, col_bytes: int) -> int:
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        col = len(line.encode()[:col_bytes].decode(errors="ignore"))
        return self._line_starts[lineno - 1] + col

    def char_offset(self, lineno: int, col_chars: int) -> int:
        return self._line_starts[lineno - 1] + col_chars

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),
                self.offset(node.end_lineno, node.end_col_offset))

    def line_start(self, lineno: int) -> int:
        return self._line_starts[lineno - 1]

    # --- statements -----------------------------------------------------------------------

    def _statements(self) -> list[Stmt]:
        out: list[Stmt] = []
        body = self.tree.body
        for index, node in enumerate(body):
            first = node.lineno
            decorators = getattr(node, "decorator_list", [])
            if decorators:
                first = min(first, *(d.lineno for d in decorators))
            previous_last = out[-1].last if out else 0
            # Attached comments: contiguous comment lines right above (no blank line between).
            while first - 1 > previous_last:
                above = self.lines[first - 2].strip()
                if above.startswith("#") and not _is_section_header(above):
                    first -= 1
                else:
                    break
            kind = "other"
            names: list[str] = []
            if (index == 0 and isinstance(node, ast.Expr)
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                kind = "docstring"
            elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
                kind = "future"
            elif isinstance(node, ast.Import | ast.ImportFrom):
                kind = "import"
            elif (isinstance(node, ast.If) and _is_type_checking(node.test)):
                kind = "typecheck"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                kind, names = "def", [node.name]
            elif isinstance(node, ast.Assign):
                kind = "def"
                for target in node.targets:
                    names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                kind, names = "def", [node.target.id]
            out.append(Stmt(index, node, first, node.end_lineno, names, kind))
        return out

    def _bind(self, stmt: Stmt) -> None:
        node = stmt.node
        if stmt.kind == "def":
            for name in stmt.names:
                self.bindings[name] = Binding("def", self.module, name, stmt.index)
        elif stmt.kind == "import":
            for local, binding in import_bindings(node, self.module):
                binding.stmt = stmt.index
                self.bindings[local] = binding
        elif stmt.kind == "typecheck":
            for inner in node.body:
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    for local, binding in import_bindings(inner, self.module):
                        binding.kind = "tc_" + binding.kind.split("_")[1]
                        binding.stmt = stmt.index
                        self.bindings[local] = binding

    def top_names(self) -> set[str]:
        return set(self.bindings)

    def all_names(self) -> set[str]:
        names = {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
        return names


def _is_section_header(line: str) -> bool:
    return bool(re.match(r"#\s*(-{3,}|={3,})", line))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


OUR_MODULES: set[str] = set()  # every module and package of the original tree


def import_bindings(node: ast.Import | ast.ImportFrom, current: str) -> list[tuple[str, Binding]]:
    out: list[tuple[str, Binding]] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                out.append((alias.asname, Binding("import_mod", alias.name)))
            else:
                top = alias.name.split(".")[0]
                out.append((top, Binding("import_mod", top, name=alias.name)))
        return out
    module = absolute(node, current)
    for alias in node.names:
        local = alias.asname or alias.name
        if f"{module}.{alias.name}" in OUR_MODULES:
            out.append((local, Binding("import_mod", f"{module}.{alias.name}")))
        else:
            out.append((local, Binding("import_sym", module, alias.name)))
    return out


def absolute(node: ast.ImportFrom, current: str) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")[: -node.level]
    return ".".join(base + ([node.module] if node.module else []))


# =============================================================================================
# The plan, resolved against the tree
# =============================================================================================


@dataclass
class Plan:
    sources: dict[str, Source]  # original path → Source
    move_to: dict[str, str]  # original path → new path (moved whole)
    merge_to: dict[str, str]  # original path → destination path (folded)
    dest_of: dict[tuple[str, int], str] = field(default_factory=dict)  # (path, stmt) → new path
    sym_home: dict[tuple[str, str], str] = field(default_factory=dict)  # (module, name) → module
    mod_home: dict[str, str] = field(default_factory=dict)  # module → module
    cross_app_models: dict[tuple[str, str], str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)  # new paths that end up empty
    routers: list[tuple[str, str]] = field(default_factory=list)  # (module, router's module)
    #: Names each module's remaining code still uses (its imports of them stay, so a
    #: re-export through it keeps working and need not be rewritten).
    retained_uses: dict[str, set[str]] = field(default_factory=dict)

    def new_path(self, path: str) -> str:
        if path in self.move_to:
            return self.move_to[path]
        return self.merge_to.get(path, path)


def collect_sources() -> dict[str, Source]:
    files = subprocess.run(["git", "ls-files", "*.py"], capture_output=True, text=True,
                           check=True).stdout.split()
    sources: dict[str, Source] = {}
    for path in sorted(files):
        if path == SELF or any(part in SKIP_DIRS for part in path.split("/")):
            continue
        OUR_MODULES.add(path_to_module(path))
    for module in list(OUR_MODULES):
        parts = module.split(".")
        for i in range(1, len(parts)):
            OUR_MODULES.add(".".join(parts[:i]))
    fixups = {}
    for path, old, new, why in FIXUPS:
        fixups.setdefault(path, []).append((old, new, why))
    for path in sorted(files):
        if path == SELF or is_migration(path) or any(p in SKIP_DIRS for p in path.split("/")):
            continue
        text = (ROOT / path).read_text()
        for old, new, why in fixups.get(path, []):
            if text.count(old) == 1:
                text = text.replace(old, new)
                FIXED.add(path)
            else:
                FIXUP_REPORT.append(f"{path}: fixup not applied, do it by hand ({why})")
        sources[path] = Source(path, text)
    return sources


FIXED: set[str] = set()


def build_plan(sources: dict[str, Source]) -> Plan:
    problems: list[str] = []
    plan = Plan(sources, dict(MOVES), dict(MERGES))
    taken = set(sources)
    for src, dst in MOVES:
        if src not in sources:
            problems.append(f"move: {src} does not exist")
        if (ROOT / dst).exists():
            problems.append(f"move: destination {dst} exists")
    for src, _dst in MERGES:
        if src not in sources:
            problems.append(f"merge: {src} does not exist")
    wanted: dict[tuple[str, str], str] = {}
    for src, dst, names in SPLITS:
        source = sources.get(src)
        if source is None:
            problems.append(f"split: {src} does not exist")
            continue
        for name in names:
            binding = source.bindings.get(name)
            if binding is None or binding.kind != "def":
                problems.append(f"split: {name} is not a top-level definition of {src}")
            wanted[(src, name)] = dst
        planned = taken | set(plan.move_to.values())
        if (ROOT / dst).exists() and dst not in planned:
            problems.append(f"split: destination {dst} exists and is not part of the plan")
    # Every statement's destination.
    for path, source in sources.items():
        base = plan.new_path(path)
        merged = path in plan.merge_to
        for stmt in source.stmts:
            dest = base
            targets = {wanted[(path, n)] for n in stmt.names if (path, n) in wanted}
            if len(targets) > 1:
                problems.append(f"{path}: one statement defines names going to {targets}")
            if targets:
                dest = sorted(targets)[0]
            elif merged and stmt.kind in {"docstring", "future", "import", "typecheck"}:
                dest = ""  # dropped: what the moved code needs is imported anew
            plan.dest_of[(path, stmt.index)] = dest
    follow_dependencies(plan, sources)
    for path, source in sources.items():
        base = plan.new_path(path)
        merged = path in plan.merge_to
        for stmt in source.stmts:
            dest = plan.dest_of[(path, stmt.index)]
            for name in stmt.names:
                plan.sym_home[(source.module, name)] = path_to_module(dest) if dest else ""
        plan.mod_home[source.module] = path_to_module(base)
        uses: set[str] = set()
        if not merged:
            for stmt in source.stmts:
                if plan.dest_of[(path, stmt.index)] == base and stmt.kind not in {
                        "import", "docstring", "future"}:
                    uses |= {n.id for n in ast.walk(stmt.node) if isinstance(n, ast.Name)}
        plan.retained_uses[source.module] = uses
    # Models that change app.
    for src, dst, names in SPLITS:
        src_app, dst_app = src.split("/")[0], dst.split("/")[0]
        if src.endswith("/models.py") and src_app != dst_app:
            for name in names:
                plan.cross_app_models[(src_app, name)] = dst_app
    # Migrations must not refer to anything that moves (that would force a shim).
    for path in sorted(Path(ROOT).glob("*/migrations/*.py")):
        text = path.read_text()
        for match in re.finditer(r"\b((?:accounts|announcements|channels_app|comms)(?:\.\w+)+)",
                                 text):
            dotted = match.group(1)
            module, _, name = dotted.rpartition(".")
            if module in plan.mod_home and (module, name) in plan.sym_home:
                if plan.sym_home[(module, name)] != module:
                    problems.append(f"{path}: refers to {dotted}, which moves (keep a shim)")
    if problems:
        raise PlanError("\n".join(problems))
    return plan


NOTICES: list[str] = []


def follow_dependencies(plan: Plan, sources: dict[str, Source]) -> None:
    """Definitions the plan does not name but must move with what it moves (a tree that
    changed since the plan was written):

    - a private helper (`_name`) that only moved code uses, all of it going to one module;
    - a definition that moved code uses while the rest of its module will import that moved
      code: left behind, the two modules would import each other.

    Each is reported; one that cannot be decided (used by code going to several modules, or a
    decorator object such as a router) stays and is reported for a decision by hand."""
    for _ in range(10):
        changed = False
        defined_at: dict[str, set[str]] = {}  # destination → names defined there
        for path, source in sources.items():
            for stmt in source.stmts:
                dest = plan.dest_of[(path, stmt.index)]
                if dest and stmt.kind == "def":
                    defined_at.setdefault(dest, set()).update(stmt.names)
        for path, source in sources.items():
            if path in plan.merge_to:
                continue
            own = plan.new_path(path)
            defined = {n: s.index for s in source.stmts if s.kind == "def" for n in s.names}
            refs = {s.index: {n.id for n in ast.walk(s.node) if isinstance(n, ast.Name)}
                    & set(defined) for s in source.stmts}
            decorators = set()
            for stmt in source.stmts:
                for deco in getattr(stmt.node, "decorator_list", []):
                    root = deco.func if isinstance(deco, ast.Call) else deco
                    decorators.add(_dotted(root).split(".")[0])
            for stmt in source.stmts:
                if stmt.kind != "def" or plan.dest_of[(path, stmt.index)] != own:
                    continue
                names = set(stmt.names)
                users = {plan.dest_of[(path, u.index)] for u in source.stmts
                         if u.index != stmt.index and refs[u.index] & names}
                users.discard("")
                moved_users = {d for d in users - {own} if not names <= defined_at.get(d, set())}
                if not moved_users:
                    continue
                staying_needs = {plan.dest_of[(path, defined[n])] for u in source.stmts
                                 if plan.dest_of[(path, u.index)] == own for n in refs[u.index]}
                cyclic = moved_users & staying_needs
                private = all(n.startswith("_") for n in names) and own not in users
                label = f"{path}: {', '.join(sorted(names))}"
                if names & decorators:
                    if cyclic and names != {"router"}:  # a router: see router_fixes()
                        NOTICES.append(f"{label} stays (a decorator object) although "
                                       f"{', '.join(sorted(cyclic))} will import it: by hand")
                    continue
                if len(moved_users) > 1 and (private or cyclic):
                    note = (f"{label} stays, used by code moving to "
                            f"{', '.join(sorted(moved_users))}: decide its home by hand")
                    if note not in NOTICES:
                        NOTICES.append(note)
                    continue
                if private or cyclic:
                    target = sorted(moved_users)[0]
                    plan.dest_of[(path, stmt.index)] = target
                    why = "an import cycle otherwise" if cyclic else "only moved code uses it"
                    NOTICES.append(f"{label} moves along to {target} ({why})")
                    changed = True
        if not changed:
            return


def resolve(plan: Plan, module: str, name: str, depth: int = 0) -> tuple[str, str, str] | None:
    """Where `module.name` lives after the move: ("sym", module, name) or ("mod", module, "")."""
    if depth > 5:
        return None
    dotted = f"{module}.{name}"
    if dotted in OUR_MODULES:
        return ("mod", plan.mod_home.get(dotted, dotted), "")
    source = plan.sources.get(module_to_path(module)) or plan.sources.get(
        module.replace(".", "/") + "/__init__.py")
    if source is None:
        return None
    binding = source.bindings.get(name)
    if binding is None:
        return None
    if binding.kind == "def":
        return ("sym", plan.sym_home[(module, name)], name)
    if binding.kind in {"import_sym", "tc_sym"} and name in plan.retained_uses.get(module, ()):
        return ("sym", plan.mod_home.get(module, module), name)  # the re-export stays
    if binding.kind in {"import_sym", "tc_sym"}:
        found = resolve(plan, binding.module, binding.name, depth + 1)
        return found if found else ("sym", binding.module, binding.name)
    if binding.kind in {"import_mod", "tc_mod"}:
        target = binding.name or binding.module
        return ("mod", plan.mod_home.get(target, target), "")
    return None


def new_module_of(plan: Plan, module: str) -> str:
    """A module's new name (for a module imported as an object)."""
    return plan.mod_home.get(module, module)


# =============================================================================================
# Text maps: dotted names and file paths in strings, comments and docs
# =============================================================================================


def dotted_map(plan: Plan):
    moved_modules = {old: new for old, new in plan.mod_home.items() if old != new}
    split_symbols = {
        (module, name): home for (module, name), home in plan.sym_home.items()
        if home and home != plan.mod_home.get(module, module)
    }
    modules_with_splits = {module for module, _ in split_symbols}
    labels = {f"{app}.{model}": f"{new}.{model}" for (app, model), new in
              plan.cross_app_models.items()}
    labels.update({k.lower(): v.lower() for k, v in labels.items()})

    def rewrite(dotted: str) -> str:
        if dotted in labels:
            return labels[dotted]
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            module = ".".join(parts[:cut])
            if module in moved_modules or module in modules_with_splits:
                rest = parts[cut:]
                if rest and (module, rest[0]) in split_symbols:
                    return ".".join([split_symbols[(module, rest[0])], *rest])
                return ".".join([moved_modules.get(module, module), *rest])
        return dotted

    return rewrite


DOTTED = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
FILE_PATH = re.compile(r"(?<![\w/.])([a-z_]+(?:/[a-z_]+)+\.py)\b")


def text_rewriter(plan: Plan):
    dotted = dotted_map(plan)
    paths = {old: new for old, new in {**plan.move_to, **plan.merge_to}.items()}

    def rewrite(text: str) -> str:
        text = DOTTED.sub(lambda m: dotted(m.group(1)), text)
        return FILE_PATH.sub(lambda m: paths.get(m.group(1), m.group(1)), text)

    return rewrite


# =============================================================================================
# Rewriting one source file, statement by statement
# =============================================================================================


@dataclass
class Need:
    """An import a destination module needs: a symbol, or a module object."""

    module: str
    name: str  # "" for a module object
    local: str
    typecheck: bool = False
    plain: bool = False  # `import a.b` (binds `a`)


class Destination:
    """What a new (or rewritten) module is made of."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.module = path_to_module(path)
        self.header: list[str] = []  # docstring, __future__
        self.imports: list[str] = []  # retained top-level import statements (rewritten)
        self.chunks: list[tuple[str, str, int, str]] = []  # (gap, text, source order, kind)
        self.needs: dict[str, Need] = {}  # local name → need
        self.module_names: dict[str, str] = {}  # module → local name bound here
        self.defined: set[str] = set()  # top-level names defined here
        self.used_names: set[str] = set()
        self.registered_models: dict[str, list[str]] = {}  # module → model names (noqa F401)
        self.router_from: str = ""  # module whose Ninja router this module's routes used
        self.new_router = False
        self.is_new = False
        self.tail = ""
        self.chunks: list = []


class FileRewriter:
    """Computes the text of each top-level statement of one source file, rewritten for the
    module it ends up in, and what that module then needs to import."""

    def __init__(self, plan: Plan, source: Source, dests: dict[str, Destination],
                 rewrite_text) -> None:
        self.plan = plan
        self.src = source
        self.dests = dests
        self.rewrite_text = rewrite_text
        self.edits: list[tuple[int, int, str]] = []
        self.skip_spans: list[tuple[int, int]] = []  # regenerated import statements

    # --- module binding names in a destination ------------------------------------------------

    def module_local(self, dest: Destination, module: str, preferred: str) -> str:
        if module in dest.module_names:
            return dest.module_names[module]
        own = dest.path == self.plan.new_path(self.src.path) and (
            self.src.path not in self.plan.merge_to)
        base = module.rsplit(".", 1)[-1]
        candidates = []
        if base not in GENERIC_MODULE_NAMES:
            candidates.append(base)
        candidates += [preferred, base, "_".join(module.split(".")[-2:])]
        for candidate in candidates:
            taken = dest.needs.get(candidate)
            if taken is not None and (taken.module, taken.name) == (module, ""):
                dest.module_names[module] = candidate
                return candidate
            free = candidate not in dest.used_names and taken is None
            binding = self.src.bindings.get(candidate)
            if candidate == preferred and own and taken is None and binding is not None and (
                    binding.kind == "import_mod"
                    and new_module_of(self.plan, binding.name or binding.module) == module):
                free = free or candidate not in dest.defined  # the file's own name for it
            if candidate and free and candidate not in dest.module_names.values():
                dest.module_names[module] = candidate
                dest.used_names.add(candidate)
                return candidate
        raise PlanError(f"{dest.path}: no free name for module {module}")

    def need(self, dest: Destination, need: Need) -> str:
        """Record an import the destination needs; returns the local name to use (another
        one when two moved pieces use one name for two different things)."""
        existing = dest.needs.get(need.local)
        if existing is None:
            if need.local in dest.defined:
                return need.local  # the destination has its own (a module's `logger`, …)
            dest.needs[need.local] = need
            dest.used_names.add(need.local)
        elif (existing.module, existing.name) != (need.module, need.name):
            if not need.name or need.module in OUR_MODULES:
                raise PlanError(
                    f"{dest.path}: `{need.local}` would be both {existing.module}."
                    f"{existing.name} and {need.module}.{need.name}")
            prefix = need.module.split(".")[0]
            alias = (prefix.capitalize() + need.name if need.name[:1].isupper()
                     else f"{prefix}_{need.name}")
            NOTICES.append(f"{dest.path}: {need.module}.{need.name} imported as {alias} "
                           f"(`{need.local}` is {existing.module}.{existing.name} there)")
            return self.need(dest, Need(need.module, need.name, alias, need.typecheck))
        elif existing.typecheck and not need.typecheck:
            existing.typecheck = False
        return need.local

    # --- the statements -----------------------------------------------------------------------

    def run(self) -> None:
        src = self.src
        for stmt in src.stmts:
            if stmt.kind == "import":
                end = src.line_start(stmt.last + 1) if stmt.last < len(src.lines) else len(
                    src.text)
                self.skip_spans.append((src.line_start(stmt.node.lineno), end))
        for stmt in src.stmts:
            dest_path = self.plan.dest_of[(src.path, stmt.index)]
            if not dest_path:
                continue
            dest = self.dests[dest_path]
            if stmt.kind == "import":
                continue  # handled by retained_imports()
            visitor = RefVisitor(self, dest, stmt)
            visitor.visit(stmt.node)
            if stmt.kind == "typecheck":
                continue
        for start, end in self._comment_and_string_tokens():
            original = src.text[start:end]
            new = self._code_in_string(original) or self.rewrite_text(original)
            if new != original:
                self.edits.append((start, end, new))

    def _code_in_string(self, token: str) -> str | None:
        """A string that is a Python program (run by a test in a subprocess) is rewritten
        like a module of its own."""
        if src_path_is_snippet(self.src.path) or "import" not in token or "\n" not in token:
            return None
        try:
            value = ast.literal_eval(token)
            ast.parse(value)
        except (ValueError, SyntaxError):
            return None
        if not isinstance(value, str) or not re.search(r"^\s*(from|import) \w", value, re.M):
            return None
        match = re.match(r"([rRbBuU]*)('''|\"\"\"|'|\")", token)
        if match is None or token[match.end(): len(token) - len(match.group(2))] != value:
            return None
        new = rewrite_snippet(self.plan, value, self.rewrite_text)
        if new == value:
            return None
        return match.group(0) + new + match.group(2)

    def _comment_and_string_tokens(self):
        src = self.src
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(src.text).readline))
        except tokenize.TokenError:
            return
        for token in tokens:
            if token.type in (tokenize.COMMENT, tokenize.STRING):
                start = src.char_offset(*token.start)
                end = src.char_offset(*token.end)
                if any(a <= start < b for a, b in self.skip_spans):
                    continue
                yield start, end

    def text_of(self, first_line: int, last_line: int) -> str:
        start = self.src.line_start(first_line)
        end = self.src.line_start(last_line + 1) if last_line < len(self.src.lines) else len(
            self.src.text)
        text = self.src.text[start:end]
        inside = sorted((e for e in self.edits if start <= e[0] and e[1] <= end),
                        key=lambda e: (e[0], -e[1]))
        out, position = [], start
        for a, b, new in inside:
            if a < position:
                continue  # nested in an edit already applied
            out.append(self.src.text[position:a])
            out.append(new)
            position = b
        out.append(self.src.text[position:end])
        text = "".join(out)
        if not text.endswith("\n"):
            text += "\n"
        return text

    def import_text(self, node: ast.Import | ast.ImportFrom, dest: Destination,
                    indent: str, comment: str) -> str:
        """The import statement rewritten for its new home; '' when nothing is left."""
        lines: list[str] = []
        suffix = f"  {comment}" if comment else ""
        if isinstance(node, ast.Import):
            for alias in node.names:
                new = new_module_of(self.plan, alias.name)
                if alias.asname:
                    lines.append(f"import {new} as {alias.asname}")
                elif new == alias.name or "." not in alias.name:
                    lines.append(f"import {new}")
                else:
                    lines.append(f"import {new}")
            return "".join(f"{indent}{line}{suffix}\n" for line in lines)
        module = absolute(node, self.src.module)
        groups: dict[str, list[str]] = {}
        for alias in node.names:
            local = alias.asname or alias.name
            found = resolve(self.plan, module, alias.name)
            if found is None:
                groups.setdefault(module, []).append(_alias(alias.name, local))
                continue
            kind, home, name = found
            if kind == "mod":
                parent, _, base = home.rpartition(".")
                chosen = local
                if home in dest.module_names:
                    chosen = dest.module_names[home]
                if parent:
                    groups.setdefault(parent, []).append(_alias(base, chosen))
                else:
                    lines.append(f"import {home}" + (f" as {chosen}" if chosen != home else ""))
                continue
            if home == dest.module:
                continue  # now defined in this very module
            groups.setdefault(home, []).append(_alias(name, local))
        for mod, names in groups.items():
            lines.append(f"from {mod} import {', '.join(names)}")
        if not lines:
            return ""
        return "".join(f"{indent}{line}{suffix}\n" for line in lines)


SNIPPET = "__snippet__.py"


def src_path_is_snippet(path: str) -> bool:
    return path == SNIPPET


def rewrite_snippet(plan: Plan, code: str, rewrite_text) -> str:
    """Rewrite a self-contained program held in a string, as its own module."""
    source = Source(SNIPPET, text=code)
    module = source.module
    for stmt in source.stmts:
        plan.dest_of[(SNIPPET, stmt.index)] = SNIPPET
        for name in stmt.names:
            plan.sym_home[(module, name)] = module
    dest = Destination(SNIPPET)
    dest.used_names = source.all_names()
    dest.defined = {n for s in source.stmts if s.kind == "def" for n in s.names}
    try:
        bind_retained_modules(plan, source, dest)
        rewriter = FileRewriter(plan, source, {SNIPPET: dest}, rewrite_text)
        rewriter.run()
        previous_last = 0
        for stmt in source.stmts:
            gap = "".join(source.lines[previous_last: stmt.first - 1])
            if stmt.kind == "import":
                text = own_import_text(plan, rewriter, dest, stmt)
            else:
                text = rewriter.text_of(stmt.first, stmt.last)
            if text:
                dest.chunks.append(Chunk(gap, text, True, stmt.kind == "import",
                                         stmt.kind in {"docstring", "future"}))
            previous_last = stmt.last
        dest.tail = "".join(source.lines[previous_last:])
        text = render(plan, dest, tidy=False)
    finally:
        for key in [k for k in plan.dest_of if k[0] == SNIPPET]:
            del plan.dest_of[key]
        for key in [k for k in plan.sym_home if k[0] == module]:
            del plan.sym_home[key]
    if code.startswith("\n") and not text.startswith("\n"):
        text = "\n" + text
    return text


def _import_tuples(nodes, current: str) -> list[tuple[str, str, str]]:
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [("", a.name, a.asname or "") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out += [(absolute(node, current), a.name, a.asname or "") for a in node.names]
    return sorted(out)


def _same_imports(text: str, node: ast.stmt, current: str) -> bool:
    try:
        new = ast.parse(textwrap_dedent(text)).body
    except SyntaxError:
        return False
    return _import_tuples(new, current) == _import_tuples([node], current)


def textwrap_dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)


def _alias(name: str, local: str) -> str:
    return name if name == local else f"{name} as {local}"


class RefVisitor(ast.NodeVisitor):
    """Finds, in one top-level statement, every reference that the move changes."""

    def __init__(self, rewriter: FileRewriter, dest: Destination, stmt: Stmt) -> None:
        self.r = rewriter
        self.plan = rewriter.plan
        self.src = rewriter.src
        self.dest = dest
        self.stmt = stmt
        self.own = dest.path == rewriter.plan.new_path(rewriter.src.path) and (
            rewriter.src.path not in rewriter.plan.merge_to)
        self.scopes: list[set[str]] = []  # names bound locally in enclosing functions
        self.local_imports: list[dict[str, Binding]] = []

    # --- scopes ---------------------------------------------------------------------------

    def _function(self, node) -> None:
        bound: set[str] = set()
        imports: dict[str, Binding] = {}
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                    *([args.vararg] if args.vararg else []),
                    *([args.kwarg] if args.kwarg else [])]:
            bound.add(arg.arg)
        for child in ast.walk(node):
            if child is node:
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                bound.add(child.id)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound.add(child.name)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                for local, binding in import_bindings(child, self.src.module):
                    imports[local] = binding
            elif isinstance(child, ast.ExceptHandler) and child.name:
                bound.add(child.name)
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
            self.visit(default)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.annotation is not None:
                self.visit(arg.annotation)
        if node.returns is not None:
            self.visit(node.returns)
        self.scopes.append(bound - set(imports))
        self.local_imports.append(imports)
        for child in node.body:
            self.visit(child)
        self.scopes.pop()
        self.local_imports.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        bound = {a.arg for a in node.args.args}
        self.scopes.append(bound)
        self.local_imports.append({})
        self.visit(node.body)
        self.scopes.pop()
        self.local_imports.pop()

    def _lookup(self, name: str) -> Binding | None:
        for scope, imports in zip(reversed(self.scopes), reversed(self.local_imports),
                                  strict=True):
            if name in imports:
                return imports[name]
            if name in scope:
                return None  # a local variable
        return self.src.bindings.get(name)

    def _is_local_import(self, name: str) -> bool:
        return any(name in imports for imports in self.local_imports)

    # --- imports inside functions -----------------------------------------------------------

    def visit_Import(self, node) -> None:
        self._rewrite_import(node)

    def visit_ImportFrom(self, node) -> None:
        self._rewrite_import(node)

    def _rewrite_import(self, node) -> None:
        start = self.src.line_start(node.lineno)
        end = self.src.line_start(node.end_lineno + 1)
        line = self.src.lines[node.lineno - 1]
        indent = line[: len(line) - len(line.lstrip())]
        comment = _trailing_comment(self.src.lines[node.end_lineno - 1])
        new = self.r.import_text(node, _LocalDest(self.dest), indent, comment)
        self.r.skip_spans.append((start, end))
        if new and _same_imports(new, node, self.src.module):
            return
        if not new:
            following = self.src.lines[node.end_lineno] if node.end_lineno < len(
                self.src.lines) else ""
            if not following.strip():
                end += len(following)  # and the blank line that set it apart
            parent_body = _parent_body(self.stmt.node, node)
            if parent_body is not None and all(
                    isinstance(s, ast.Import | ast.ImportFrom) and _drops(self, s)
                    for s in parent_body):
                new = f"{indent}pass\n"
        self.r.edits.append((start, end, new))

    # --- references -----------------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if isinstance(value, ast.Name) and isinstance(value.ctx, ast.Load):
            binding = self._lookup(value.id)
            if binding is not None and binding.kind in {"import_mod", "tc_mod"}:
                if self._module_attribute(node, value, binding):
                    return
        self.generic_visit(node)

    def _module_attribute(self, node: ast.Attribute, value: ast.Name, binding: Binding) -> bool:
        if binding.name and binding.name != binding.module:
            # `import a.b.c`: the chain a.b.c.attr
            chain = _dotted(node)
            old = binding.name
            if chain and (chain == old or chain.startswith(old + ".")):
                new = new_module_of(self.plan, old) + chain[len(old):]
                if new != chain:
                    self.r.edits.append((*self.src.span(node), new))
                return True
            return False
        module = binding.module
        if module not in OUR_MODULES:
            return False
        found = resolve(self.plan, module, node.attr)
        module_home = new_module_of(self.plan, module)
        local_import = self._is_local_import(value.id)
        if found is None or found[0] == "mod":
            home = module_home
            attr_name = node.attr
        else:
            home, attr_name = found[1], found[2]
        if home == self.dest.module:
            self.r.edits.append((*self.src.span(node), attr_name))
            return True
        if local_import and home == module_home:
            return True  # the function's own import is rewritten in place
        local = self.r.module_local(self.dest, home, value.id)
        self.r.need(self.dest, Need(home, "", local, binding.kind == "tc_mod"))
        new = f"{local}.{attr_name}"
        if new != f"{value.id}.{node.attr}":
            self.r.edits.append((*self.src.span(node), new))
        return True

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        self.dest.used_names.add(node.id)
        if self._is_local_import(node.id):
            binding = self._lookup(node.id)
            if binding is not None and binding.kind == "import_mod":
                pass
            return
        binding = self._lookup(node.id)
        if binding is None:
            return
        if binding.kind == "def":
            home = self.plan.sym_home.get((self.src.module, node.id), "")
            if home and home != self.dest.module:
                self.r.need(self.dest, Need(home, node.id, node.id))
            return
        if binding.kind in {"import_sym", "tc_sym"}:
            found = resolve(self.plan, binding.module, binding.name)
            if self.own and found is not None and found[0] == "sym" and (
                    found[1] != self.dest.module):
                return  # the file's own import, rewritten, still binds it
            if self.own and found is None:
                return
            if found is None:
                local = self.r.need(self.dest, Need(binding.module, binding.name, node.id,
                                                    binding.kind == "tc_sym"))
                if local != node.id:
                    self.r.edits.append((*self.src.span(node), local))
                return
            kind, home, name = found
            if kind == "mod":
                local = self.r.module_local(self.dest, home, node.id)
                self.r.need(self.dest, Need(home, "", local))
                if local != node.id:
                    self.r.edits.append((*self.src.span(node), local))
                return
            if home == self.dest.module:
                if name != node.id:
                    self.r.edits.append((*self.src.span(node), name))
                return
            local = self.r.need(self.dest, Need(home, name, node.id, binding.kind == "tc_sym"))
            if local != node.id:
                self.r.edits.append((*self.src.span(node), local))
            return
        if binding.kind in {"import_mod", "tc_mod"}:
            target = binding.name or binding.module
            if binding.module not in OUR_MODULES:
                own = self.dest.path == self.plan.new_path(self.src.path) and (
                    self.src.path not in self.plan.merge_to)
                if not own:
                    self.r.need(self.dest, Need(target, "", node.id, binding.kind == "tc_mod",
                                                plain=bool(binding.name)))
                return
            home = new_module_of(self.plan, target)
            if binding.name and binding.name != binding.module:
                # `import a.b.c` used bare as `a` (rare): keep the import as it is rewritten.
                self.r.need(self.dest, Need(home, "", home.split(".")[0]))
                return
            local = self.r.module_local(self.dest, home, node.id)
            if not self.own:
                self.r.need(self.dest, Need(home, "", local, binding.kind == "tc_mod"))
            if local != node.id:
                self.r.edits.append((*self.src.span(node), local))

    def visit_Call(self, node: ast.Call) -> None:
        # monkeypatch.setattr(module, "name", …), getattr(module, "name"), patch.object(…):
        # a name that moved is looked up on its new module.
        func = node.func
        fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if (fname in {"setattr", "getattr", "hasattr", "delattr", "object"} and len(node.args) >= 2
                and isinstance(node.args[0], ast.Name)
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)):
            first = node.args[0]
            binding = self._lookup(first.id)
            if binding is not None and binding.kind == "import_mod" and not binding.name:
                found = resolve(self.plan, binding.module, node.args[1].value)
                if found and found[0] == "sym" and found[1] != new_module_of(
                        self.plan, binding.module):
                    home = found[1]
                    local = self.r.module_local(self.dest, home, home.rsplit(".", 1)[-1])
                    self.r.need(self.dest, Need(home, "", local))
                    self.r.edits.append((*self.src.span(first), local))
                    for arg in node.args[1:]:
                        self.visit(arg)
                    for keyword in node.keywords:
                        self.visit(keyword)
                    self.visit(func)
                    return
        self.generic_visit(node)


class _LocalDest:
    """A destination as seen from a function-level import: module names are not shared."""

    def __init__(self, dest: Destination) -> None:
        self.module = dest.module
        self.module_names: dict[str, str] = {}


def _drops(visitor: RefVisitor, node) -> bool:
    return not visitor.r.import_text(node, _LocalDest(visitor.dest), "", "")


def _parent_body(root: ast.AST, target: ast.AST) -> list[ast.stmt] | None:
    for node in ast.walk(root):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and target in body:
                return body
    return None


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _trailing_comment(line: str) -> str:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return ""
    for token in tokens:
        if token.type == tokenize.COMMENT:
            return token.string
    return ""


# =============================================================================================
# Model-specific edits
# =============================================================================================

RELATION_FIELDS = {"ForeignKey", "OneToOneField", "ManyToManyField"}


def model_edits(plan: Plan, rewriter: FileRewriter) -> None:
    """Models moved out of `<app>/models.py`: class references to models left behind become
    "app_label.Model" strings (no import back, so no cycle); a model that changes app keeps
    its table."""
    src = rewriter.src
    if not src.path.endswith("/models.py"):
        return
    app = src.path.split("/")[0]
    for stmt in src.stmts:
        if not isinstance(stmt.node, ast.ClassDef):
            continue
        dest = plan.dest_of[(src.path, stmt.index)]
        if dest == src.path:
            continue
        for call in ast.walk(stmt.node):
            if not (isinstance(call, ast.Call) and call.args):
                continue
            fname = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(
                call.func, "id", "")
            first = call.args[0]
            if fname in RELATION_FIELDS and isinstance(first, ast.Name):
                binding = src.bindings.get(first.id)
                if binding is not None and binding.kind == "def":
                    target_dest = plan.dest_of[(src.path, binding.stmt)]
                    if target_dest != dest:
                        label = target_dest.split("/")[0]
                        rewriter.edits.append((*src.span(first), f'"{label}.{first.id}"'))
        new_app = dest.split("/")[0]
        if new_app != app:
            meta = next((n for n in stmt.node.body
                         if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
            table = f"{app}_{stmt.node.name.lower()}"
            if meta is None:
                raise PlanError(f"{src.path}: {stmt.node.name} has no Meta to set db_table in")
            if any(isinstance(n, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "db_table" for t in n.targets)
                    for n in meta.body):
                continue
            first_line = meta.body[0].lineno
            indent = re.match(r"\s*", src.lines[first_line - 1]).group(0)
            position = src.line_start(first_line)
            rewriter.edits.append((position, position, (
                f"{indent}# The table keeps the name it had in {app} (moved with\n"
                f"{indent}# SeparateDatabaseAndState, no data copied).\n"
                f'{indent}db_table = "{table}"\n')))


# =============================================================================================
# Assembling the destinations
# =============================================================================================


def own_import_text(plan: Plan, rewriter: FileRewriter, dest: Destination, stmt: Stmt) -> str:
    """A top-level import of the file, rewritten for the module the file becomes."""
    src = rewriter.src
    comment = _trailing_comment(src.lines[stmt.last - 1])
    leading = "".join(src.lines[stmt.first - 1: stmt.node.lineno - 1])
    text = rewriter.import_text(stmt.node, dest, "", comment)
    if not text:
        return ""
    original = "".join(src.lines[stmt.node.lineno - 1: stmt.last])
    if _same_imports(text, stmt.node, src.module):
        return rewriter.rewrite_text(leading) + original
    return rewriter.rewrite_text(leading) + text


def bind_retained_modules(plan: Plan, source: Source, dest: Destination) -> None:
    """Decide the local names of the module objects the retained imports bind (a module that
    moved may take its new, more telling name: `from comms import realtime` → `outbox`)."""
    all_names = source.all_names()
    rebound: set[str] = set()
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            rebound.add(node.id)
        elif isinstance(node, ast.arg):
            rebound.add(node.arg)
    for stmt in source.stmts:
        if stmt.kind != "import" or plan.dest_of[(source.path, stmt.index)] != dest.path:
            continue
        node = stmt.node
        if not isinstance(node, ast.ImportFrom):
            continue
        module = absolute(node, source.module)
        for alias in node.names:
            old = f"{module}.{alias.name}"
            if old not in OUR_MODULES:
                continue
            new = new_module_of(plan, old)
            local = alias.asname or alias.name
            base = new.rsplit(".", 1)[-1]
            chosen = local
            if (new != old and not alias.asname and base != local
                    and base not in GENERIC_MODULE_NAMES and base not in all_names
                    and local not in rebound):
                chosen = base
            dest.module_names.setdefault(new, chosen)
            dest.used_names.add(chosen)


@dataclass
class Chunk:
    gap: str
    text: str
    own: bool
    is_import: bool = False
    header: bool = False


def assemble(plan: Plan) -> tuple[dict[str, str], set[str]]:
    """The new text of every file that changes; and the original files that go away."""
    rewrite_text = text_rewriter(plan)
    dests: dict[str, Destination] = {}
    own_paths = {plan.new_path(p) for p in plan.sources if p not in plan.merge_to}
    for path, source in plan.sources.items():
        for stmt in source.stmts:
            dest_path = plan.dest_of[(path, stmt.index)]
            if dest_path and dest_path not in dests:
                dests[dest_path] = Destination(dest_path)
        if path not in plan.merge_to:
            dests.setdefault(plan.new_path(path), Destination(plan.new_path(path)))
    for dest in dests.values():
        dest.is_new = dest.path not in own_paths
    for path, source in plan.sources.items():
        for stmt in source.stmts:
            dest_path = plan.dest_of[(path, stmt.index)]
            if dest_path and stmt.kind == "def":
                dests[dest_path].defined.update(stmt.names)
        if path not in plan.merge_to:
            dests[plan.new_path(path)].used_names |= source.all_names()
    # Module names first (they steer every reference), then the references.
    for path, source in plan.sources.items():
        if path not in plan.merge_to:
            bind_retained_modules(plan, source, dests[plan.new_path(path)])
    rewriters: dict[str, FileRewriter] = {}
    for path, source in plan.sources.items():
        rewriter = FileRewriter(plan, source, dests, rewrite_text)
        model_edits(plan, rewriter)
        rewriter.run()
        rewriters[path] = rewriter
    changed: set[str] = set()
    for path, source in plan.sources.items():
        rewriter = rewriters[path]
        own_path = plan.new_path(path)
        if path in plan.move_to or path in plan.merge_to:
            changed.add(own_path)
        previous: tuple[int, str] | None = None
        held_header = ""  # a section header whose first statements moved away
        for stmt in source.stmts:
            dest_path = plan.dest_of[(path, stmt.index)]
            if not dest_path:
                previous = None
                continue
            dest = dests[dest_path]
            own = dest_path == own_path and path not in plan.merge_to
            if not own:
                changed.update({dest_path, own_path})
            gap_start = source.stmts[stmt.index - 1].last + 1 if stmt.index else 1
            gap = rewrite_text("".join(source.lines[gap_start - 1: stmt.first - 1]))
            starts_section = any(_is_section_header(line.strip()) for line in gap.split("\n"))
            if own and starts_section:
                held_header = ""
            elif own and held_header:
                gap, held_header = held_header, ""  # the section goes on: keep its header
            elif not own and starts_section and path not in plan.merge_to:
                held_header = gap
            if not own and not (previous and previous == (stmt.index - 1, dest_path)):
                gap = "\n\n"
            if stmt.kind == "import":
                text = own_import_text(plan, rewriter, dest, stmt) if own else ""
                if own and text != "".join(source.lines[stmt.first - 1: stmt.last]):
                    changed.add(dest_path)
            else:
                text = rewriter.text_of(stmt.first, stmt.last)
            if text:
                dest.chunks.append(Chunk(gap, text, own, stmt.kind == "import",
                                         stmt.kind in {"docstring", "future"}))
            previous = (stmt.index, dest_path)
        if rewriter.edits or path in FIXED:
            changed.add(own_path)
        if path not in plan.merge_to:
            tail_start = source.stmts[-1].last if source.stmts else 0
            dests[own_path].tail = rewrite_text("".join(source.lines[tail_start:]))
    router_fixes(plan, dests)
    register_models(plan, dests)
    texts: dict[str, str] = {}
    for dest in dests.values():
        if dest.path in changed or dest.is_new or dest.needs or dest.registered_models:
            texts[dest.path] = render(plan, dest)
    gone = {path for path in plan.sources if path in plan.merge_to}
    losing = {plan.new_path(p) for (p, i), d in plan.dest_of.items()
              if d and d != plan.new_path(p) and p not in plan.merge_to}
    for path in sorted(losing):
        if path in texts and _is_empty_module(texts[path]):
            plan.deleted.add(path)
            del texts[path]
    return texts, gone


def _is_empty_module(text: str) -> bool:
    tree = ast.parse(text)
    for index, node in enumerate(tree.body):
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        return False
    return True


def router_fixes(plan: Plan, dests: dict[str, Destination]) -> None:
    """A Ninja route moved to a module without a router gets a router of its own."""
    for dest in dests.values():
        need = dest.needs.get("router")
        if need is None or need.name != "router" or "router" in dest.defined:
            continue
        del dest.needs["router"]
        dest.router_from = need.module
        dest.new_router = True
        dest.defined.add("router")
        dest.needs["Router"] = Need("ninja", "Router", "Router")
        plan.routers.append((dest.module, need.module))


def register_models(plan: Plan, dests: dict[str, Destination]) -> None:
    """`<app>/models.py` imports the models of its subpackages, so Django registers them."""
    for src, dst, names in SPLITS:
        if not (src.endswith("/models.py") and dst.endswith("/models.py")):
            continue
        if src.split("/")[0] != dst.split("/")[0]:
            continue
        dest = dests[plan.new_path(src)]
        source = plan.sources[src]
        models = [n for n in names if _is_concrete_model(source, n)]
        dest.registered_models.setdefault(path_to_module(dst), []).extend(models)


def _is_concrete_model(source: Source, name: str, depth: int = 0) -> bool:
    binding = source.bindings.get(name)
    node = source.stmts[binding.stmt].node if binding and binding.kind == "def" else None
    if not isinstance(node, ast.ClassDef) or depth > 5:
        return False
    meta = next((n for n in node.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
    if meta is not None and any(
            isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "abstract" for t in n.targets)
            for n in meta.body):
        return False
    for base in node.bases:
        if _dotted(base) in {"models.Model", "Model"}:
            return True
        if isinstance(base, ast.Name) and (_is_concrete_model(source, base.id, depth + 1) or (
                source.bindings.get(base.id) and _is_abstract_model(source, base.id))):
            return True
    return False


def _is_abstract_model(source: Source, name: str) -> bool:
    binding = source.bindings.get(name)
    node = source.stmts[binding.stmt].node if binding and binding.kind == "def" else None
    return isinstance(node, ast.ClassDef) and any(_dotted(b) == "models.Model" for b in node.bases)


def extra_imports(dest: Destination, existing: str) -> tuple[list[str], list[str]]:
    """Import lines the destination needs beyond its own: (plain, under TYPE_CHECKING)."""
    extra: list[str] = []
    typecheck: list[str] = []
    registered: dict[str, set[str]] = {m: set() for m in dest.registered_models}
    by_module: dict[str, list[str]] = {}
    for local in sorted(dest.needs):
        need = dest.needs[local]
        if need.module in registered and need.name:
            registered[need.module].add(_alias(need.name, local))
            continue
        if _already_imported(existing, need):
            continue
        if need.name:
            if need.typecheck:
                typecheck.append(f"from {need.module} import {_alias(need.name, local)}")
            else:
                by_module.setdefault(need.module, []).append(_alias(need.name, local))
        else:
            parent, _, base = need.module.rpartition(".")
            if need.plain:
                line = f"import {need.module}"
            elif parent:
                line = f"from {parent} import {_alias(base, local)}"
            else:
                line = f"import {need.module}" + (f" as {local}" if local != need.module else "")
            (typecheck if need.typecheck else extra).append(line)
    for module in sorted(by_module):
        extra.append(f"from {module} import {', '.join(sorted(by_module[module]))}")
    for module in sorted(registered):
        used = registered[module]
        models = set(dest.registered_models[module]) - used
        if used:
            extra.append(f"from {module} import {', '.join(sorted(used))}")
        if models:
            extra.append(f"from {module} import {', '.join(sorted(models))}"
                         "  # noqa: F401  (the app's models)")
    if typecheck and "TYPE_CHECKING" not in existing:
        extra.append("from typing import TYPE_CHECKING")
    return extra, typecheck


def render(plan: Plan, dest: Destination, tidy: bool = True) -> str:
    own = [c for c in dest.chunks if c.own]
    incoming = [c for c in dest.chunks if not c.own]
    existing = "".join(c.text for c in own if c.is_import)
    extra, typecheck = extra_imports(dest, existing)
    suffix = "  # noqa: E402" if "# noqa: E402" in existing else ""
    extra_text = "".join(
        line + (suffix if suffix and "noqa" not in line else "") + "\n" for line in extra)
    if typecheck:
        extra_text += "\nif TYPE_CHECKING:\n" + "".join(f"    {line}\n" for line in typecheck)
    out: list[str] = []
    if dest.is_new:
        doc = NEW_DOCSTRINGS.get(dest.path, "")
        if not doc:
            raise PlanError(f"{dest.path}: a new module needs a docstring in NEW_DOCSTRINGS")
        out.append(f'"""{doc}"""\n\nfrom __future__ import annotations\n\n')
        out.append(extra_text)
        if dest.new_router:
            out.append("\n\nrouter = Router()\n")
        for chunk in incoming:
            out.append(chunk.gap + chunk.text)
        return _tidy("".join(out))
    last_import = max((i for i, c in enumerate(own) if c.is_import), default=None)
    last_header = max((i for i, c in enumerate(own) if c.header), default=None)
    insert_after = last_import if last_import is not None else last_header
    if insert_after is None and extra_text:
        out.append(extra_text)
    for i, chunk in enumerate(own):
        gap = chunk.gap if i else chunk.gap.lstrip("\n")
        out.append(gap + chunk.text)
        if i == insert_after and extra_text:
            out.append(("\n" if last_import is None else "") + extra_text)
            if dest.new_router:
                out.append("\n\nrouter = Router()\n")
    for chunk in incoming:
        out.append(chunk.gap + chunk.text)
    out.append(dest.tail)
    return _tidy("".join(out)) if tidy else "".join(out)


def _already_imported(imports: str, need: Need) -> bool:
    if need.name:
        pattern = rf"from {re.escape(need.module)} import [^\n]*\b{re.escape(need.name)}\b"
        if need.local != need.name:
            return bool(re.search(pattern + rf" as {re.escape(need.local)}\b", imports))
        return bool(re.search(pattern, imports)) and not re.search(
            rf"\b{re.escape(need.name)} as ", imports)
    parent, _, base = need.module.rpartition(".")
    if need.plain or not parent:
        return bool(re.search(rf"^\s*import {re.escape(need.module)}\b", imports, re.M))
    if parent:
        alias = f"{base} as {need.local}" if base != need.local else base
        return bool(re.search(rf"from {re.escape(parent)} import [^\n]*\b{re.escape(alias)}\b",
                              imports))
    return f"import {need.module}" in imports


def _tidy(text: str) -> str:
    """Drop top-level section headers left with nothing under them; at most two blank lines."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_section_header(line.strip()) and not line.startswith(" "):
            # A header block: header line(s) and comments up to the next blank line.
            j = i
            while j < len(lines) and lines[j].startswith("#"):
                j += 1
            k = j
            while k < len(lines) and not lines[k].strip():
                k += 1
            if k >= len(lines) or (_is_section_header(lines[k].strip())
                                   and not lines[k].startswith(" ")):
                i = k
                continue
        out.append(line)
        i += 1
    text = "\n".join(out)
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return text.rstrip("\n") + "\n"


# =============================================================================================
# Wiring: apps, settings, routers, task shims, docs
# =============================================================================================


def app_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for package in NEW_PACKAGES:
        files[f"{package}/__init__.py"] = ""
    for app, (config, verbose, doc) in NEW_APPS.items():
        files[f"{app}/__init__.py"] = ""
        files[f"{app}/migrations/__init__.py"] = ""
        files[f"{app}/apps.py"] = (
            f'"""{doc}"""\n\nfrom django.apps import AppConfig\n\n\n'
            f"class {config}(AppConfig):\n"
            f'    name = "{app}"\n'
            f'    label = "{app}"\n'
            f'    verbose_name = "{verbose}"\n'
        )
    return files


def settings_text(text: str) -> str:
    old = '    "accounts",\n    "announcements",\n'
    new = '    "realtime",\n    "accounts",\n    "notifications",\n    "announcements",\n'
    if old not in text:
        raise PlanError('comms/settings.py: INSTALLED_APPS has no "accounts", "announcements"')
    return text.replace(old, new, 1)


def urls_text(text: str, plan: Plan, dests_with_router: list[tuple[str, str]]) -> str:
    """comms/urls.py: a module that got a router of its own is added with the tags of the
    router its routes were on (same URLs, same OpenAPI tags)."""
    for new_module, old_new in dests_with_router:
        match = re.search(rf"^from {re.escape(old_new)} import router as (\w+)\n", text, re.M)
        if match is None:
            raise PlanError(f"comms/urls.py: no import of {old_new}.router")
        old_alias = match.group(1)
        alias = new_module.replace(".", "_").removeprefix("announcements_") + "_router"
        alias = alias.replace("_api_router", "_router")
        text = text.replace(match.group(0),
                            match.group(0) + f"from {new_module} import router as {alias}\n", 1)
        add = re.search(rf"^api\.add_router\(\"\", {old_alias}, (tags=\[[^\]]*\])\)\n", text,
                        re.M)
        if add is None:
            raise PlanError(f"comms/urls.py: no api.add_router of {old_alias}")
        text = text.replace(add.group(0),
                            add.group(0) + f'api.add_router("", {alias}, {add.group(1)})\n', 1)
    return text


def task_shims(plan: Plan, texts: dict[str, str]) -> dict[str, str]:
    """Old dotted paths of moved django-tasks tasks keep working: queued rows store them."""
    shims: dict[str, list[tuple[str, str]]] = {}
    for path, source in plan.sources.items():
        for stmt in source.stmts:
            node = stmt.node
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if not any(_dotted(d.func if isinstance(d, ast.Call) else d).split(".")[-1] == "task"
                       for d in node.decorator_list):
                continue
            home = plan.sym_home[(source.module, node.name)]
            if home != source.module:
                shims.setdefault(path, []).append((home, node.name))
    out: dict[str, str] = {}
    for path, names in sorted(shims.items()):
        module = path_to_module(path)
        lines = "".join(f"from {home} import {name}  # noqa: F401\n" for home, name in names)
        if path in texts:  # the module stays: the names are imported into it
            out[path] = (texts[path] + "\n# Old task paths, stored in queued rows (see the "
                         "task shims in tools/restructure.py).\n" + lines)
            continue
        if (ROOT / path[:-3]).is_dir() or path[:-3] in {p.rsplit("/", 1)[0] for p in texts}:
            raise PlanError(f"{path}: a package takes its place; cannot keep the task path")
        out[path] = (
            f'"""The old import path of django-tasks tasks that moved (issue 15).\n\n'
            f"The database task backend stores each queued task's dotted path\n"
            f"(`DBTaskResult.task_path`) and imports it when a worker runs the row: rows queued\n"
            f"before the move still name `{module}`. Remove this module once no unfinished row\n"
            f"does:\n\n"
            f"    DBTaskResult.objects.filter(task_path__startswith=\"{module}.\",\n"
            f"                                status__in=[\"READY\", \"RUNNING\"]).exists()\n"
            f'"""\n\n{lines}'
        )
    return out


def docs_texts(plan: Plan) -> dict[str, str]:
    rewrite = text_rewriter(plan)
    out: dict[str, str] = {}
    for path in sorted([*Path(ROOT, "docs").glob("*.md"), Path(ROOT, "README.md")]):
        if not path.exists():
            continue
        text = path.read_text()
        new = rewrite(text)
        if new != text:
            out[str(path.relative_to(ROOT))] = new
    return out


# =============================================================================================
# Lines the renames made too long
# =============================================================================================

WIDTH = 100
LIST_ITEM = re.compile(r"(- |\* |\d+[.)] )")


def _prose_lines(text: str) -> dict[int, int]:
    """Lines (1-based) inside triple-quoted strings → the last line of their string."""
    lines: dict[int, int] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return lines
    for token in tokens:
        quotes = token.string.lstrip("rbuRBU")[:3]
        if token.type == tokenize.STRING and quotes in {'"""', "'''"}:
            for number in range(token.start[0], token.end[0] + 1):
                lines[number] = token.end[0]
    return lines


def _reflow(lines: list[str], i: int, prefix: str, last: int) -> None:
    """Re-wrap the paragraph that starts at line i (same prefix, no list items, not past line
    `last`, 0-based) to WIDTH."""
    import textwrap

    j = i
    words: list[str] = []
    while j < len(lines) and j <= last:
        line = lines[j]
        if j > i:
            rest = line[len(prefix):] if line.startswith(prefix) else None
            if (not rest or not rest.strip() or rest[0] in " \t" or LIST_ITEM.match(rest)
                    or rest.strip().startswith(('"""', "'''"))):
                break
        words += line[len(prefix):].split()
        j += 1
    wrapped = textwrap.wrap(" ".join(words), width=WIDTH - len(prefix), break_long_words=False,
                            break_on_hyphens=False)
    lines[i:j] = [prefix + w for w in wrapped]


def fix_long_lines(paths: list[str], ruff: str) -> None:
    """Prose (comments, docstrings) that a longer dotted name pushed past the line length is
    re-wrapped; a code line is formatted alone (`ruff format --range`), never the whole file."""
    for path in paths:
        file = ROOT / path
        if not file.exists() or not path.endswith(".py"):
            continue
        lines = file.read_text().split("\n")
        prose = _prose_lines("\n".join(lines))
        changed = False
        for i in range(len(lines)):
            if i >= len(lines) or len(lines[i]) <= WIDTH:
                continue
            stripped = lines[i].lstrip()
            if i + 1 in prose:
                prefix = lines[i][: len(lines[i]) - len(stripped)]
                last = prose[i + 1] - 1
            elif stripped.startswith("#"):
                prefix = re.match(r"\s*#:?\s?", lines[i]).group(0)
                last = len(lines)
            else:
                continue
            _reflow(lines, i, prefix, last)
            prose = _prose_lines("\n".join(lines))
            changed = True
        if changed:
            file.write_text("\n".join(lines))
        for number in sorted((n + 1 for n, line in enumerate(lines) if len(line) > WIDTH),
                             reverse=True):
            if number in prose or lines[number - 1].lstrip().startswith("#"):
                continue
            subprocess.run([ruff, "format", "--quiet", "--range", f"{number}:1-{number}:"
                            f"{len(lines[number - 1]) + 1}", path], cwd=ROOT, check=False)


# =============================================================================================
# Migrations of the models that change app (run under Django, after the code moved)
# =============================================================================================

MIGRATION_SCRIPT = r'''
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms.test_settings")
import django
django.setup()
from django.utils import translation
translation.deactivate_all()  # as makemigrations does: no translated verbose names
from django.apps import apps
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import SeparateDatabaseAndState
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import OperationWriter

moved = json.loads(sys.argv[1])  # [[old_app, model, new_app], ...]
loader = MigrationLoader(None, ignore_no_migrations=True)
detector = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps),
                                 NonInteractiveMigrationQuestioner(specified_apps=set(),
                                                                   dry_run=True))
changes = detector.changes(graph=loader.graph)
old_apps = sorted({m[0] for m in moved})
new_apps = sorted({m[2] for m in moved})
if set(changes) - set(old_apps) - set(new_apps):
    sys.exit(f"unexpected model changes in {sorted(set(changes) - set(old_apps) - set(new_apps))}")
out = {}
for app, migrations in sorted(changes.items()):
    ops, deps = [], set()
    for migration in migrations:
        ops += migration.operations
        for d in migration.dependencies:
            if getattr(d, "setting", None):
                deps.add(("__setting__", d.setting))
            elif d[0] != app:
                deps.add(tuple(d))
    imports, texts = set(), []
    for op in ops:
        if app in old_apps and type(op).__name__ not in {"DeleteModel", "RemoveField"}:
            sys.exit(f"{app}: unexpected {op.describe()}")
        if app in new_apps and type(op).__name__ not in {"CreateModel", "AddField",
                                                           "AddIndex"}:
            sys.exit(f"{app}: unexpected {op.describe()}")
        text, op_imports = OperationWriter(op, indentation=4).serialize()
        texts.append(text)
        imports |= op_imports
    leaf = {a: sorted(loader.graph.leaf_nodes(a))[-1][1] for a in old_apps}
    out[app] = {"ops": texts, "imports": sorted(imports),
                "deps": sorted(list(d) for d in deps), "leaf": leaf,
                "models": [op.name for op in ops if hasattr(op, "fields") or
                           type(op).__name__ == "DeleteModel"]}
print(json.dumps(out))
'''


def write_migrations(plan: Plan) -> list[str]:
    moved = sorted([old, model, new] for (old, model), new in plan.cross_app_models.items())
    venv = ROOT / ".venv/bin/python"
    python = str(venv) if venv.exists() else sys.executable
    result = subprocess.run([python, "-c", MIGRATION_SCRIPT, _json(moved)], capture_output=True,
                            text=True, cwd=ROOT)
    if result.returncode:
        raise PlanError("migrations: " + (result.stderr.strip().splitlines() or ["?"])[-1])
    import json

    data = json.loads(result.stdout.strip().splitlines()[-1])
    written: list[str] = []
    old_apps = sorted({m[0] for m in moved})
    new_apps = sorted({m[2] for m in moved})
    for app in new_apps:
        info = data[app]
        deps = {tuple(d) for d in info["deps"]}
        for old in old_apps:
            deps = {d for d in deps if d[0] != old}
            deps.add((old, info["leaf"][old]))
        deps.add(("contenttypes", "0002_remove_content_type_name"))
        models = info["models"]
        olds = {m[1].lower(): m[0] for m in moved if m[2] == app}
        text = _migration_text(
            doc=(f"State-only: {', '.join(models)} moved here from "
                 f"{', '.join(sorted(set(olds.values())))} (issue 15). The table keeps its name\n"
                 f"(db_table) and its rows; only Django's record of which app owns the model\n"
                 f"changes. The content type is renamed with it, so permissions stay attached."),
            imports=info["imports"], deps=sorted(deps), ops=info["ops"], database_ops=None,
            content_types=[(olds[m.lower()], app, m.lower()) for m in models],
        )
        path = f"{app}/migrations/0001_initial.py"
        (ROOT / path).write_text(text)
        written.append(path)
    for app in old_apps:
        info = data[app]
        leaf = info["leaf"][app]
        number = int(leaf.split("_")[0]) + 1
        deps = {(app, leaf)} | {(new, "0001_initial") for new in new_apps}
        text = _migration_text(
            doc=("State-only (issue 15): "
                 + ", ".join(f"{m} moved to {dict((x[1], x[2]) for x in moved)[m]}"
                             for m in info["models"])
                 + ".\nTheir tables stay where they are (db_table): nothing happens in the "
                   "database."),
            imports=info["imports"], deps=sorted(deps), ops=info["ops"], database_ops=None,
            content_types=[],
        )
        path = f"{app}/migrations/{number:04d}_{MIGRATION_NAME}.py"
        (ROOT / path).write_text(text)
        written.append(path)
    return written


def _json(value) -> str:
    import json

    return json.dumps(value)


def _migration_text(*, doc: str, imports: list[str], deps: list, ops: list[str], database_ops,
                    content_types: list[tuple[str, str, str]]) -> str:
    lines = [f'"""{doc}"""\n', "\n"]
    imports = set(imports) | {"from django.db import migrations"}
    if any(a == "__setting__" for a, _ in deps):
        imports.add("from django.conf import settings")
    imports = sorted(imports)
    if any("from django.db import migrations, models" == i for i in imports):
        imports = [i for i in imports if i != "from django.db import migrations"]
    lines += [f"{i}\n" for i in imports]
    if content_types:
        pairs = ", ".join(f'("{old}", "{new}", "{model}")' for old, new, model in content_types)
        lines += [
            "\n#: (old app label, new app label, model) of the content types that move.\n",
            f"CONTENT_TYPES = [{pairs}]\n",
            "\n\n",
            "def _move_content_types(apps, schema_editor, backwards=False):\n",
            '    ContentType = apps.get_model("contenttypes", "ContentType")\n',
            "    for old, new, model in CONTENT_TYPES:\n",
            "        if backwards:\n",
            "            old, new = new, old\n",
            "        if not ContentType.objects.filter(app_label=new, model=model).exists():\n",
            "            ContentType.objects.filter(app_label=old, model=model).update(\n",
            "                app_label=new\n",
            "            )\n",
            "\n\n",
            "def _move_content_types_back(apps, schema_editor):\n",
            "    _move_content_types(apps, schema_editor, backwards=True)\n",
        ]
    lines += ["\n\n", "class Migration(migrations.Migration):\n", "    dependencies = [\n"]
    for a, b in deps:
        if a == "__setting__":
            lines.append(f"        migrations.swappable_dependency(settings.{b}),\n")
        else:
            lines.append(f'        ("{a}", "{b}"),\n')
    lines += ["    ]\n\n", "    operations = [\n", "        migrations.SeparateDatabaseAndState(\n",
              "            state_operations=[\n"]
    for op in ops:
        text = op.rstrip()
        lines.append(text + ("" if text.endswith(",") else ",") + "\n")
    lines += ["            ],\n", "            database_operations=[],\n", "        ),\n"]
    if content_types:
        lines.append(
            "        migrations.RunPython(_move_content_types, _move_content_types_back),\n")
    lines.append("    ]\n")
    return "".join(lines)


def _indent(text: str, n: int) -> str:
    text = text.rstrip().rstrip(",")
    return "\n".join((" " * (n - 4) + line) if line.strip() else line for line in text.split("\n"))


# =============================================================================================
# Main
# =============================================================================================


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, cwd=ROOT)


def already_done() -> bool | None:
    sources = [src for src, _ in MOVES]
    destinations = [dst for _, dst in MOVES]
    gone = all(not (ROOT / s).exists() for s in sources if s not in {
        "announcements/reminders.py"})  # a task shim comes back there
    present = all((ROOT / d).exists() for d in destinations)
    if gone and present:
        return True
    if any(not (ROOT / s).exists() for s in sources) or any(
            (ROOT / d).exists() for d in destinations):
        return None  # half done
    return False


def run(check_only: bool, verify: bool) -> int:
    state = already_done()
    if state is True:
        print("restructure: the target layout is already in place; nothing to do.")
        return 0
    if state is None:
        print("restructure: the tree is half restructured; start again from a clean checkout "
              "(git checkout -- . && git clean -fd).", file=sys.stderr)
        return 2
    if not check_only:
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, cwd=ROOT).stdout
        dirty = "\n".join(line for line in dirty.splitlines() if not line.endswith(SELF))
        if dirty.strip():
            print("restructure: the work tree has changes; run it on a clean checkout:\n" + dirty,
                  file=sys.stderr)
            return 2
    sources = collect_sources()
    plan = build_plan(sources)
    texts, gone = assemble(plan)
    texts.update(task_shims(plan, texts))
    routers = plan.routers
    print(f"restructure: {len(MOVES)} files moved, {sum(len(n) for *_, n in SPLITS)} symbols "
          f"in {len(SPLITS)} splits, {len(MERGES)} modules folded, "
          f"{len(plan.deleted)} emptied modules removed")
    if check_only:
        for line in FIXUP_REPORT + NOTICES:
            print("restructure: " + line)
        print("restructure: the plan holds for this tree (--check: nothing written).")
        return 0
    # 1. Packages and whole-file moves (git keeps the history).
    for path, text in app_files().items():
        (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
        if not (ROOT / path).exists():
            (ROOT / path).write_text(text)
    for src, dst in MOVES:
        (ROOT / dst).parent.mkdir(parents=True, exist_ok=True)
        git("mv", src, dst)
    for path in sorted(gone):
        if path not in texts:
            git("rm", "-q", path)
    for path in sorted(plan.deleted):
        if (ROOT / path).exists():
            git("rm", "-q", path)
    # 2. The new texts.
    touched: list[str] = []
    for path, text in sorted(texts.items()):
        (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / path).write_text(text)
        touched.append(path)
    settings = ROOT / "comms/settings.py"
    settings.write_text(settings_text(settings.read_text()))
    if routers:
        urls = ROOT / "comms/urls.py"
        urls.write_text(urls_text(urls.read_text(), plan, routers))
    for path, text in docs_texts(plan).items():
        (ROOT / path).write_text(text)
    touched += [p for p in app_files() if p.endswith(".py")]
    touched = sorted({p for p in touched if (ROOT / p).exists()} | {"comms/settings.py",
                                                                   "comms/urls.py"})
    # 3. Import order, and the imports the moves left unused (no reformatting).
    ruff = str(ROOT / ".venv/bin/ruff") if (ROOT / ".venv/bin/ruff").exists() else "ruff"
    subprocess.run([ruff, "check", "--quiet", "--select", "I,F401", "--fix", *touched],
                   cwd=ROOT, check=False)
    fix_long_lines(touched, ruff)
    # 4. Migrations of the models that change app.
    written = write_migrations(plan)
    subprocess.run([ruff, "check", "--quiet", "--select", "I", "--fix", *written], cwd=ROOT,
                   check=False)
    git("add", "-A", "--", *sorted({p.split("/")[0] for p in [*touched, *written]}),
        "docs", "README.md")
    print(f"restructure: done; {len(touched) + len(written)} files written, changes staged.")
    for line in FIXUP_REPORT + list(dict.fromkeys(NOTICES)):
        print("restructure: " + line)
    if verify:
        return run_checks()
    return 0


def run_checks() -> int:
    python = str(ROOT / ".venv/bin/python")
    ruff = str(ROOT / ".venv/bin/ruff")
    status = 0
    for command in ([python, "manage.py", "check"],
                    [python, "manage.py", "makemigrations", "--check", "--dry-run"],
                    [ruff, "check", "."]):
        print("$", " ".join(command[1:] if command[0] == python else command), flush=True)
        env = {"DJANGO_SETTINGS_MODULE": "comms.test_settings"}
        result = subprocess.run(command, cwd=ROOT, env={**_environ(), **env})
        status = status or result.returncode
    return status


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


APP_PACKAGES = ["common", "realtime", "accounts", "notifications", "announcements",
                "channels_app", "comms"]


def report_imports() -> int:
    """Function-level imports of the app packages in the current tree, each marked with whether
    it hides an import cycle (the imported module reaches this one through module-level
    imports) or could be a module-level import now."""
    files = [str(p.relative_to(ROOT)) for package in APP_PACKAGES
             for p in sorted((ROOT / package).rglob("*.py")) if "migrations" not in p.parts]
    modules = {path_to_module(f): f for f in files}
    OUR_MODULES.update(modules)
    for module in list(modules):
        parts = module.split(".")
        OUR_MODULES.update(".".join(parts[:i]) for i in range(1, len(parts)))

    def targets(node, current):
        out = []
        if isinstance(node, ast.Import):
            out = [a.name for a in node.names]
        else:
            base = absolute(node, current)
            out = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                   for a in node.names]
        return sorted({t for t in out if t in modules})

    graph: dict[str, set[str]] = {m: set() for m in modules}
    full: dict[str, set[str]] = {m: set() for m in modules}  # with function-level imports
    local: list[tuple[str, int, str, str]] = []
    for module, path in modules.items():
        tree = ast.parse((ROOT / path).read_text())
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[module].update(targets(node, module))
            elif isinstance(node, ast.Try):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        graph[module].update(targets(inner, module))
        for top in tree.body:
            if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                for node in ast.walk(top):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        for target in targets(node, module):
                            names = ", ".join(a.name for a in node.names)
                            local.append((path, node.lineno, target, names))
                            full[module].add(target)
    for module, imported in graph.items():
        full[module] |= imported

    def reaches(start: str, goal: str, edges=graph) -> list[str] | None:
        seen, stack = {start}, [[start]]
        while stack:
            chain = stack.pop()
            for nxt in sorted(edges.get(chain[-1], ())):
                if nxt == goal:
                    return [*chain, nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append([*chain, nxt])
        return None

    def package(module: str) -> str:
        parts = module.split(".")
        if parts[0] == "announcements" and len(parts) > 2:
            return ".".join(parts[:2])
        return parts[0]

    package_graph: dict[str, set[str]] = {}
    for module, imported in graph.items():
        for target in imported:
            if package(target) != package(module):
                package_graph.setdefault(package(module), set()).add(package(target))

    counts = {"module cycle": 0, "cycle if hoisted": 0, "layer violation": 0,
              "two-way packages": 0, "deliberately lazy": 0, "hoistable": 0}
    for path, line, target, names in sorted(local):
        module = path_to_module(path)
        if target == module:
            continue
        chain = reaches(target, module)
        hoisted = reaches(target, module, full)
        mine, theirs = module.split(".")[0], target.split(".")[0]
        if chain:
            kind, why = "module cycle", " -> ".join(chain)
        elif hoisted:
            kind = "cycle if hoisted"
            why = " -> ".join(hoisted) + " (through function-level imports)"
        elif path.endswith("/apps.py") or "/management/commands/" in path:
            kind, why = "deliberately lazy", "app loading or a management command"
        elif APP_PACKAGES.index(theirs) > APP_PACKAGES.index(mine):
            kind, why = "layer violation", f"{mine} imports {theirs}, a floor above it"
        elif package(module) in package_graph.get(package(target), set()):
            kind, why = "two-way packages", (f"{package(target)} imports {package(module)} "
                                             "at module level")
        else:
            kind, why = "hoistable", "no cycle: can be a module-level import"
        counts[kind] += 1
        print(f"{path}:{line}: {target} ({names}): {kind}: {why}")
    print(f"{len(local)} function-level imports of the app packages: "
          + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="validate the plan, write nothing")
    parser.add_argument("--verify", action="store_true", help="run check, makemigrations "
                        "--check and ruff after restructuring")
    parser.add_argument("--report-imports", action="store_true", help="list the function-level "
                        "imports of the current tree and the cycles they hide; change nothing")
    args = parser.parse_args()
    if args.report_imports:
        return report_imports()
    try:
        return run(args.check, args.verify)
    except PlanError as exc:
        print(f"restructure: the plan does not fit this tree:\n{exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
