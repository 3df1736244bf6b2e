"""A class's roster: who the students are, and the lab each gets, validated before anything else.

    class: k8s-networking-fall-2026
    expires: 8h            # optional: every lab's lab:expires
    students:
      - id: alice
        adminArn: arn:aws:iam::123456789012:role/alice

Ids are people's names or logins as the instructor has them (`Élodie.Martin`, `jun_park`); the
lab's names are derived from them (stacks/names.py: class_lab) and the reports show them as
given. Each lab's settings are Pulumi.dev.yaml's plus its own cluster name, its student's ARN as
the only `lab:adminPrincipalArns` and the roster's `expires`, checked by the program's own
settings rules. Every problem is reported at once, naming the student (RosterError: exit 2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labtools.stack_file import settings_dir, stack_config, stack_settings
from stacks import names
from stacks.config_reader import SettingsError
from stacks.settings import LabSettings

BASE_STACK = "dev"  # every lab starts from Pulumi.dev.yaml, as `./lab up --stack NAME` does
ROSTER_KEYS = ("class", "expires", "students")
STUDENT_KEYS = ("id", "adminArn")
ADMINS = "lab:adminPrincipalArns"


class RosterError(ValueError):
    def __init__(self, path: Path | str, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"roster {path}: {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Student:
    id: str
    """As the roster gives it: what the reports show."""
    admin_arn: str
    stack: str
    """The lab's stack, and its EKS cluster: one name (stacks/names.py: class_lab)."""
    index: int = 0
    """Its place in the roster's list (students[i] in messages)."""

    @property
    def cluster_name(self) -> str:
        return self.stack


@dataclass(frozen=True)
class Roster:
    path: Path
    class_name: str
    expires: str | None
    students: tuple[Student, ...]

    def student(self, ident: str) -> Student:
        found = [s for s in self.students if ident in (s.id, s.stack)]
        if not found:
            raise RosterError(self.path, [f"no student {ident!r} in the roster; its ids: "
                                          f"{', '.join(s.id for s in self.students)}"])
        return found[0]


def lab_overrides(roster: Roster, student: Student, admit: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a student's lab sets on top of Pulumi.dev.yaml: nothing of another student's."""
    keys: dict[str, Any] = {"lab:clusterName": student.cluster_name, ADMINS: [student.admin_arn]}
    if roster.expires is not None:
        keys["lab:expires"] = roster.expires
    if admit:
        base = stack_config(BASE_STACK).get("lab:clientCidrs", ["0.0.0.0/0"])
        base = yaml.safe_load(base) if isinstance(base, str) else list(base)
        keys["lab:clientCidrs"] = list(dict.fromkeys([*base, *admit]))
    return keys


def lab_config(roster: Roster, student: Student, admit: tuple[str, ...] = ()) -> dict[str, Any]:
    """The student's whole `config:` (Pulumi.<stack>.yaml), keys as Pulumi.dev.yaml writes them."""
    return {**stack_config(BASE_STACK), **lab_overrides(roster, student, admit)}


def lab_settings(roster: Roster, student: Student, now: dt.datetime | None = None,
                 admit: tuple[str, ...] = ()) -> LabSettings:
    """The settings the program will read for the student's lab (raises SettingsError)."""
    return stack_settings(student.stack, now=now, overrides=lab_overrides(roster, student, admit),
                          file_of=BASE_STACK, secrets=False)


# --------------------------------------------------------------------------
# Reading and checking


def load_roster(path: Path | str) -> Roster:
    path = Path(path)
    data = _read(path)
    problems: list[str] = []
    unknown = sorted(set(data) - set(ROSTER_KEYS), key=str)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(map(str, unknown))}; a roster has {', '.join(ROSTER_KEYS)}")
    class_name = data.get("class")
    if not isinstance(class_name, str) or not class_name.strip():
        problems.append(f"class: {class_name!r}: expected the class's name, such as k8s-networking-fall-2026")
        class_name = ""
    elif not names.usable(class_name):
        problems.append(f"class: {class_name!r} leaves no letter or digit (a-z, 0-9; accents are dropped) for "
                        "the labs' names")
    expires = _expires(data.get("expires"), problems)
    students = _students(data.get("students"), class_name, problems)
    roster = Roster(path, class_name, expires, tuple(students))
    if students:  # the labs of the students read so far: their settings' problems too, all at once
        problems += settings_problems(roster)
    if problems:
        raise RosterError(path, problems)
    return roster


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise RosterError(path, [f"cannot be read: {err.strerror or err}"]) from None
    except UnicodeDecodeError:
        raise RosterError(path, ["is not UTF-8 text"]) from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
        raise RosterError(path, [f"is not valid YAML{at}: {getattr(err, 'problem', None) or err}"]) from None
    if not isinstance(data, dict):
        raise RosterError(path, [f"expected a mapping with {', '.join(ROSTER_KEYS)}, found "
                                 f"{type(data).__name__ if data is not None else 'an empty file'}"])
    return data


def _expires(value: Any, problems: list[str]) -> str | None:
    """YAML reads `8` as a number and `2026-12-01` as a date: both are what lab:expires takes."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, dt.date)):
        problems.append(f"expires: {value!r}: expected hours such as 8h, a date YYYY-MM-DD or a UTC time "
                        "YYYY-MM-DDTHH:MM:SSZ (every lab's lab:expires)")
        return None
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _students(value: Any, class_name: str, problems: list[str]) -> list[Student]:
    if value is None or value == []:
        problems.append("students: the roster lists no student: add one entry per student, with id and adminArn")
        return []
    if not isinstance(value, list):
        problems.append(f"students: expected a list of entries with id and adminArn, found {type(value).__name__}")
        return []
    found = [s for i, entry in enumerate(value) if (s := _student(i, entry, class_name, problems))]
    _distinct(found, problems)
    return found


def who(i: int, ident: Any) -> str:
    return f"students[{i}] ({ident})" if isinstance(ident, str) and ident.strip() else f"students[{i}]"


def _student(i: int, entry: Any, class_name: str, problems: list[str]) -> Student | None:
    if not isinstance(entry, dict):
        problems.append(f"students[{i}]: {entry!r}: expected an entry with id and adminArn")
        return None
    ident, arn, before = entry.get("id"), entry.get("adminArn"), len(problems)
    name = who(i, ident)
    unknown = sorted(set(entry) - set(STUDENT_KEYS), key=str)
    if unknown:
        problems.append(f"{name}: unknown key(s) {', '.join(map(str, unknown))}; an entry has "
                        f"{', '.join(STUDENT_KEYS)}")
    if ident is None or (isinstance(ident, str) and not ident.strip()):
        problems.append(f"{name}: the id is empty: give the student's name or login")
    elif not isinstance(ident, str):
        problems.append(f"{name}: id: YAML read {ident!r}, not text: quote the id as written (id: \"...\")")
    elif not names.usable(ident):
        problems.append(f"{name}: id {ident!r} leaves no letter or digit (a-z, 0-9; accents are dropped) for the "
                        "lab's names: use the student's login")
    if not isinstance(arn, str) or not arn.strip():
        problems.append(f"{name}: adminArn is missing: the IAM role or user the student signs in with, such as "
                        "arn:aws:iam::123456789012:role/alice (the only admin of the lab's cluster)")
    if len(problems) > before:
        return None
    return Student(ident, arn.strip(), names.class_lab(class_name, ident), i)


def _distinct(found: list[Student], problems: list[str]) -> None:
    """Ids, the names derived from them and the ARNs: one lab each, one student each."""
    for what, key in (("the same id", lambda s: s.id),
                      ("ids that become the same name", lambda s: names.part(s.id)),
                      ("the same cluster name", lambda s: s.stack),
                      ("the same adminArn (a lab's admin is its own student)", lambda s: s.admin_arn)):
        first: dict[str, Student] = {}
        for s in found:
            k = key(s)
            if k in first and (what == "the same id" or first[k].id != s.id):
                problems.append(f"{who(first[k].index, first[k].id)} and {who(s.index, s.id)} have {what}: {k}")
            first.setdefault(k, s)


def settings_problems(roster: Roster) -> list[str]:
    """Each lab's settings through the program's own rules: the student's ARN is the student's
    problem; anything else comes from Pulumi.dev.yaml (or the roster's expires) and is said once."""
    base = settings_dir() / f"Pulumi.{BASE_STACK}.yaml"
    if not base.is_file():
        return [f"{base}: missing; every lab starts from it"]
    secret = sorted(k for k, v in stack_config(BASE_STACK).items() if isinstance(v, dict) and "secure" in v)
    if secret:
        return [f"{base.name} holds secret values ({', '.join(secret)}), which only its own stack can decrypt: "
                "a class lab cannot start from them"]
    mine: list[str] = []
    shared: dict[str, None] = {}
    for s in roster.students:
        try:
            lab_settings(roster, s)
        except SettingsError as err:
            for p in err.problems:
                prefix = f"{ADMINS}[0] = {s.admin_arn!r}: "
                if p.startswith(ADMINS):
                    mine.append(f"{who(s.index, s.id)}: adminArn {s.admin_arn!r}: {p.removeprefix(prefix)}")
                else:
                    shared[p] = None
    where = f"{base.name}" + (" or the roster's expires" if roster.expires is not None else "")
    return mine + [f"every lab ({where}): {p}" for p in shared]
