"""The mutants of one Python module, made with `ast`: small changes a wrong edit could make.

Each mutant is one change at one place: a comparison flipped at its boundary or
negated (`<` to `<=`, `==` to `!=`, `in` to `not in`), an arithmetic operator
swapped, a number moved by one, `True`/`False` swapped, `and`/`or` swapped, a
`not` dropped, a condition negated, `min`/`max` swapped, a returned value emptied
(`return x` gives `x.__class__()`: `[]`, `0`, `''`, `False`, or a TypeError).
Docstrings, annotations and decorators are left alone.
Mutants are numbered in the order of one walk of the tree, so `source(text, i)` remakes mutant i from
the text alone; a mutant's module is written back with `ast.unparse` (comments go,
behaviour stays: the runner first checks that the unmutated rewrite passes).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
           ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
ARITHMETIC = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
              ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult}
SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
          ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.Add: "+",
          ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
          ast.And: "and", ast.Or: "or"}
SWAPPED_CALLS = {"min": "max", "max": "min"}


@dataclass(frozen=True)
class Mutant:
    index: int
    line: int
    description: str
    end_line: int = 0
    """The last line of the mutated code (a test that runs none of line..end_line cannot kill it)."""
    column: int = 0
    """Where on `line` the mutated code starts, from 1: tells apart two `1` -> `2` of one line."""


def _text(node: ast.AST, limit: int = 60) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _negated(test: ast.expr) -> ast.expr:
    return ast.UnaryOp(ast.Not(), test)


class _Walker(ast.NodeTransformer):
    """Visits every mutable place in source order; mutates place `target` (or none: -1)."""

    def __init__(self, target: int = -1):
        self.target, self.count, self.found = target, 0, []

    def _place(self, node: ast.AST, description: str) -> bool:
        """Counts one mutant here; True when it is the one to apply."""
        index, self.count = self.count, self.count + 1
        self.found.append(Mutant(index, node.lineno, description, node.end_lineno or node.lineno, node.col_offset + 1))
        return index == self.target

    # Annotations and docstrings do nothing at run time, and decorators' arguments tune caching or
    # immutability (`maxsize=256`, `frozen=True`), not results: no mutants there.
    def visit_arg(self, node: ast.arg) -> ast.arg:
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.args = self.generic_visit(node.args)  # defaults; the args' annotations are skipped
        node.body = self._body(node.body)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.body = self._body(node.body)
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        node.body = self._body(node.body)
        return node

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out = []
        for stmt in body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                out.append(stmt)  # a docstring, or a string standing as a comment
            elif isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                out.append(stmt)
            else:
                out.append(self.visit(stmt))
        return out

    # The mutants.
    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for i, op in enumerate(node.ops):
            new = COMPARE[type(op)]
            if self._place(node, f"`{SYMBOL[type(op)]}` -> `{SYMBOL[new]}` in `{_text(node)}`"):
                node.ops = [*node.ops[:i], new(), *node.ops[i + 1:]]
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        new = ARITHMETIC.get(type(node.op))
        if new and self._place(node, f"`{SYMBOL[type(node.op)]}` -> `{SYMBOL[new]}` in `{_text(node)}`"):
            node.op = new()
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        new = ARITHMETIC.get(type(node.op))
        if new and self._place(node, f"`{SYMBOL[type(node.op)]}=` -> `{SYMBOL[new]}=` in `{_text(node)}`"):
            node.op = new()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        if self._place(node, f"`{SYMBOL[type(node.op)]}` -> `{SYMBOL[new]}` in `{_text(node)}`"):
            node.op = new()
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, (ast.Not, ast.USub)):
            what = "not " if isinstance(node.op, ast.Not) else "-"
            if self._place(node, f"`{what}` dropped in `{_text(node)}`"):
                return node.operand
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool):
            if self._place(node, f"`{value}` -> `{not value}`"):
                return ast.copy_location(ast.Constant(not value), node)
        elif isinstance(value, (int, float)):
            if self._place(node, f"`{value!r}` -> `{value + 1!r}`"):
                return ast.copy_location(ast.Constant(value + 1), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in SWAPPED_CALLS:
            new = SWAPPED_CALLS[node.func.id]
            if self._place(node, f"`{node.func.id}` -> `{new}` in `{_text(node)}`"):
                node.func = ast.copy_location(ast.Name(new, ast.Load()), node.func)
        return node

    def _condition(self, node: ast.AST) -> None:
        """`if`/`while`/`x if c else y`/a comprehension's `if`: negated, unless a flipped
        comparison or a dropped `not` already makes that mutant."""
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 or isinstance(test, ast.UnaryOp) and isinstance(
                test.op, ast.Not):
            return
        if self._place(test, f"condition negated: `{_text(test)}`"):
            node.test = _negated(test)

    def visit_If(self, node: ast.If) -> ast.AST:
        self.generic_visit(node)
        self._condition(node)
        return node

    visit_While = visit_IfExp = visit_If

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        for i, test in enumerate(node.ifs):
            holder = ast.If(test=test, body=[], orelse=[])
            self._condition(holder)
            node.ifs[i] = holder.test
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.generic_visit(node)
        value = node.value
        if value is None or isinstance(value, ast.Constant) and not (isinstance(value.value, str) and value.value):
            return node  # nothing to empty, or a constant that its own mutant changes
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)) and not value.elts or isinstance(
                value, ast.Dict) and not value.keys:
            return node  # `return []` is empty already
        if self._place(node, f"return emptied: `{_text(value)}`"):
            node.value = ast.Call(ast.Attribute(value, "__class__", ast.Load()), [], [])
        return node


def mutants(text: str) -> list[Mutant]:
    walker = _Walker()
    walker.visit(ast.parse(text))
    return walker.found


def source(text: str, index: int = -1) -> str:
    """The module's source with mutant `index` applied (-1: none, only the rewrite)."""
    walker = _Walker(index)
    tree = ast.fix_missing_locations(walker.visit(ast.parse(text)))
    if not -1 <= index < walker.count:
        raise IndexError(f"no mutant {index}: the module has {walker.count}")
    return ast.unparse(tree) + "\n"


def rewritten_spans(text: str) -> list[tuple[int, int]]:
    """Each mutant's (line, end line) in the rewrite `source(text)`, whose lines a baseline run traces."""
    first, again = mutants(text), mutants(source(text))
    if [m.description for m in first] != [m.description for m in again]:
        raise ValueError("the rewrite does not keep the module's mutants")  # ast.unparse lost a node
    return [(m.line, m.end_line) for m in again]
