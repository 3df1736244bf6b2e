"""A class's roster: the names derived from people's ids, and every problem reported at once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from labtools.roster import RosterError, lab_config, lab_settings, load_roster
from stacks import names
from stacks.settings.load import CLUSTER_NAME_PATTERN

ROOT = Path(__file__).resolve().parent.parent
ARN = "arn:aws:iam::123456789012:role/{}"
STACK_RULE = re.compile(r"^[A-Za-z0-9_.-]+$")  # the lab script's parse_common


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def roster_of(tmp_path: Path, ids: list[str], cls: str = "k8s-networking-fall-2026", extra: str = "") -> Path:
    students = "".join(f"  - id: \"{i}\"\n    adminArn: {ARN.format(n)}\n" for n, i in enumerate(ids))
    return write(tmp_path, f"class: {cls}\n{extra}students:\n{students}")


def problems(path: Path) -> list[str]:
    with pytest.raises(RosterError) as caught:
        load_roster(path)
    return caught.value.problems


# --------------------------------------------------------------------------
# Names from people's ids


def test_names_from_people_are_valid_distinct_and_short(tmp_path):
    ids = ["alice", "Élodie.Martin", "jun_park", "O'Brien", "Zoë", "a" * 80, "a" * 81, "Bob", "bob2"]
    roster = load_roster(roster_of(tmp_path, ids))
    clusters = [s.cluster_name for s in roster.students]
    assert len(set(clusters)) == len(ids)
    for name in clusters:
        assert re.fullmatch(CLUSTER_NAME_PATTERN, name) and len(name) <= names.CLUSTER_NAME_MAX, name
        assert STACK_RULE.match(name) and name == name.lower(), name
    by_id = {s.id: s.stack for s in roster.students}
    assert by_id["alice"] == "k8s-networking-fall-2026-alice"  # nothing to change: no hash
    assert by_id["Élodie.Martin"].startswith("k8s-networking-fall-20-elodie-martin-")  # accents folded, cut
    assert by_id["jun_park"].startswith("k8s-networking-fall-2026-jun-park-")
    assert [s.id for s in roster.students] == ids  # reports show the ids as given


def test_a_cut_name_keeps_the_students_part_and_a_hash_of_both():
    long_class = "Kubernetes Networking Workshop, Fall Semester 2026"
    first, second = names.class_lab(long_class, "maximilian.alexander"), names.class_lab(long_class, "maximilian.b")
    assert len(first) == names.CLUSTER_NAME_MAX and first != second
    assert "maximilian" in first and first.startswith("kubernetes-networ-maximilian-alexand-")
    # The hash is of the class and the id as given: another class never gets the same name.
    assert names.class_lab("Fall-2026", "alice") != names.class_lab("fall-2026", "alice")


# --------------------------------------------------------------------------
# Each lab's settings


def test_each_lab_starts_from_dev_with_only_its_own_student(tmp_path):
    roster = load_roster(roster_of(tmp_path, ["alice", "bob"], extra="expires: 8h\n"))
    alice, bob = roster.students
    config = lab_config(roster, alice)
    dev = yaml_config()
    assert {k: v for k, v in config.items() if k not in ("lab:clusterName", "lab:adminPrincipalArns",
                                                         "lab:expires")} == \
        {k: v for k, v in dev.items() if k not in ("lab:clusterName", "lab:adminPrincipalArns", "lab:expires")}
    assert config["lab:adminPrincipalArns"] == [alice.admin_arn] and bob.admin_arn not in str(config)
    settings = lab_settings(roster, alice)
    assert settings.cluster_name == alice.cluster_name and settings.admin_principal_arns == [alice.admin_arn]
    assert settings.tags["lab:stack"] == alice.stack


def yaml_config() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "tests" / "settings" / "Pulumi.dev.yaml").read_text())["config"]


def test_dev_admins_are_replaced_not_added(tmp_path, monkeypatch):
    """Pulumi.dev.yaml's own admins would be every lab's: a class lab names only its student."""
    settings = tmp_path / "settings"
    settings.mkdir()
    text = (ROOT / "tests" / "settings" / "Pulumi.dev.yaml").read_text()
    (settings / "Pulumi.dev.yaml").write_text(text + f"  lab:adminPrincipalArns:\n    - {ARN.format('teacher')}\n")
    monkeypatch.setenv("LAB_SETTINGS_DIR", str(settings))
    roster = load_roster(roster_of(tmp_path, ["alice"]))
    assert lab_settings(roster, roster.students[0]).admin_principal_arns == [ARN.format(0)]


# --------------------------------------------------------------------------
# A bad roster: every problem at once, naming the student


BAD = """class: k8s-networking-fall-2026
expires: 0h
teacher: me
students:
  - id: alice
    adminArn: arn:aws:iam::123456789012:role/alice
  - id: Jun.Park
    adminArn: arn:aws:sts::123456789012:assumed-role/jun/session-1
  - id: jun_park
    adminArn: arn:aws:iam::123456789012:group/students
  - id: "李雷"
    adminArn: arn:aws:iam::123456789012:role/li
  - id: "   "
    adminArn: arn:aws:iam::123456789012:role/blank
  - id: 2024001
    adminArn: arn:aws:iam::123456789012:role/number
  - id: carol
  - id: alice
    adminArn: arn:aws:iam::123456789012:role/alice-again
  - id: dave
    adminArn: arn:aws:iam::123456789012:role/alice
"""


def test_every_problem_at_once_naming_the_student(tmp_path):
    found = problems(write(tmp_path, BAD))
    expected = [
        "unknown key(s) teacher; a roster has class, expires, students",
        "students[3] (李雷): id '李雷' leaves no letter or digit",
        "students[4]: the id is empty",
        "students[5]: id: YAML read 2024001, not text: quote the id as written",
        "students[6] (carol): adminArn is missing",
        "students[0] (alice) and students[7] (alice) have the same id: alice",
        "students[1] (Jun.Park) and students[2] (jun_park) have ids that become the same name: jun-park",
        "students[0] (alice) and students[8] (dave) have the same adminArn",
        "students[1] (Jun.Park): adminArn 'arn:aws:sts::123456789012:assumed-role/jun/session-1': an access entry "
        "names the role, not a session",
        "students[2] (jun_park): adminArn 'arn:aws:iam::123456789012:group/students': expected an IAM role or user",
        "every lab (Pulumi.dev.yaml or the roster's expires): lab:expires = '0h': expected a number of hours",
    ]
    for fragment in expected:
        assert any(fragment in p for p in found), (fragment, found)
    assert len(found) == len(expected), found


@pytest.mark.parametrize("text, fragment", [
    ("class: c\nstudents: []\n", "students: the roster lists no student"),
    ("class: c\n", "students: the roster lists no student"),
    ("students:\n  - id: a\n    adminArn: arn:aws:iam::123456789012:role/a\n", "class: None: expected the class's name"),
    ("class: '!!!'\nstudents:\n  - id: a\n    adminArn: arn:aws:iam::123456789012:role/a\n",
     "class: '!!!' leaves no letter or digit"),
    ("class: c\nexpires: true\nstudents:\n  - id: a\n    adminArn: arn:aws:iam::123456789012:role/a\n",
     "expires: True: expected hours such as 8h"),
    ("- just a list\n", "expected a mapping with class, expires, students, found list"),
    ("class: [unclosed\n", "is not valid YAML (line 2, column 1)"),
    ("", "found an empty file"),
])
def test_a_bad_roster_says_what_is_wrong(tmp_path, text, fragment):
    found = problems(write(tmp_path, text))
    assert any(fragment in p for p in found), found


def test_a_good_roster_date_and_hours_reach_lab_expires(tmp_path):
    for value, expected in (("8", "8"), ("2099-12-01", "2099-12-01"), ("12h", "12h")):
        roster = load_roster(roster_of(tmp_path, ["alice"], extra=f"expires: {value}\n"))
        assert lab_config(roster, roster.students[0])["lab:expires"] == expected


def test_a_missing_roster_file_exits_2_through_the_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "labtools", "class", "plan", "--roster", str(tmp_path / "none.yaml")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "none.yaml: 1 problem(s)" in done.stderr and "cannot be read" in done.stderr
    assert done.stdout == ""
