"""The Makefile as data: its targets, their prerequisites, and the variables each target reads.

GNU make parses the Makefile itself (``make -pRrq``: print the database, run nothing), so the
docs check and the prerequisite tests see exactly what make sees. A target *reads* a variable
when its rule, its recipe, a variable those expand, a prerequisite's rule or a target its recipe
runs with ``$(MAKE)`` refers to it: ``$(NAME)``, ``${NAME}``, ``$(call NAME,...)``, or
``$${NAME}`` (the shell's environment, which make fills with command-line variables).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devtools.generated import ROOT

MAKEFILE = ROOT / "Makefile"
#: A target no Makefile defines: make prints its database and stops there (``-q``: run nothing).
NO_TARGET = "__print-the-database-only__"
REFERENCE = re.compile(r"(?<!\$)\$[({]([A-Za-z_][A-Za-z0-9_]*)|\$\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SPECIAL_TARGET = re.compile(r"^\.[A-Z_]+$")
ORIGIN = re.compile(r"^# makefile \(from '([^']+)', line \d+\)$")
RULE = re.compile(r"^([^\s#:=][^:=]*?):(?!=)\s*(.*)$")
MAKE_CALL = re.compile(r"\$\(MAKE\)((?:\s+[^\s;&|]+)+)")


@dataclass(frozen=True)
class Rule:
    prerequisites: tuple[str, ...]
    recipe: str


@dataclass(frozen=True)
class Makefile:
    variables: dict[str, str]
    rules: dict[str, Rule]

    def reads(self, target: str) -> set[str]:
        """Every variable ``target`` reads (see the module docstring), transitively."""
        seen_targets: set[str] = set()
        names: set[str] = set()
        pending = [target]
        while pending:
            current = pending.pop()
            if current in seen_targets or current not in self.rules:
                continue
            seen_targets.add(current)
            rule = self.rules[current]
            pending.extend(rule.prerequisites)
            pending.extend(sub_targets(rule.recipe))
            names |= self.expand_names(rule.recipe)
        return names

    def expand_names(self, text: str) -> set[str]:
        """The names ``text`` refers to, and those their definitions refer to."""
        found: set[str] = set()
        pending = references(text)
        while pending:
            name = pending.pop()
            if name in found:
                continue
            found.add(name)
            pending.extend(references(self.variables.get(name, "")))
        return found


def references(text: str) -> list[str]:
    """``$(NAME)``, ``${NAME}``, ``$(call NAME,...)`` and ``$${NAME}``, not ``$$(command)``."""
    return [make or shell for make, shell in REFERENCE.findall(text)]


def sub_targets(recipe: str) -> list[str]:
    """Targets a recipe runs with ``$(MAKE) [options] target ...``."""
    targets = []
    for match in MAKE_CALL.finditer(recipe):
        targets += [w for w in match.group(1).split() if not w.startswith("-") and "=" not in w]
    return targets


def database(makefile: Path = MAKEFILE) -> str:
    done = subprocess.run(
        ["make", "-pRrq", "-f", makefile.name, NO_TARGET],
        cwd=makefile.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout


def parse(text: str, makefile_name: str = "Makefile") -> Makefile:
    """Variables defined in ``makefile_name`` and every explicit rule, from make's database."""
    variables: dict[str, str] = {}
    rules: dict[str, Rule] = {}
    lines = text.splitlines()
    for index, line in enumerate(lines):
        origin = ORIGIN.match(line)
        if origin and origin.group(1) == makefile_name and index + 1 < len(lines):
            name, _, value = re.split(r"\s*(:?=|\?=|\+=)\s*", lines[index + 1], maxsplit=1)
            variables[name.removeprefix("export ").strip()] = value
            continue
        rule = RULE.match(line)
        if rule and not SPECIAL_TARGET.match(rule.group(1).strip()):
            recipe = []
            for follower in lines[index + 1 :]:
                if follower == "":
                    break
                if follower.startswith("\t"):
                    recipe.append(follower[1:])
            rules[rule.group(1).strip()] = Rule(tuple(rule.group(2).split()), "\n".join(recipe))
    return Makefile(variables, rules)


def load(makefile: Path = MAKEFILE) -> Makefile:
    return parse(database(makefile), makefile.name)
