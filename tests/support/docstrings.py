"""Numpydoc checks of the engine's public API (used by tests/test_architecture.py).

Every public function, method and class of ``nanomorph`` (names not starting with ``_``, in
modules not starting with ``_``) must have a numpydoc docstring whose Parameters (or, for a
dataclass or a class of plain attributes, Attributes) name every argument and nothing else;
a function that returns a value has a Returns (or, for a generator, Yields) section; one that
raises an exception itself has a Raises section.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import textwrap

from numpydoc.docscrape import NumpyDocString


def public_api(package: str = "nanomorph"):
    """(qualified name, object) of every public function, class and method of ``package``."""
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{info.name}.{name}", obj
            elif inspect.isclass(obj):
                yield f"{info.name}.{name}", obj
                for attr, value in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(value, (classmethod, staticmethod)):
                        value = value.__func__
                    if inspect.isfunction(value) or isinstance(value, property):
                        yield f"{info.name}.{name}.{attr}", value


def problems(obj) -> list[str]:
    """What the docstring of ``obj`` lacks (empty when it is complete)."""
    target = obj.fget if isinstance(obj, property) else obj
    doc = inspect.getdoc(target) if not inspect.isclass(obj) else obj.__doc__
    if not doc or not doc.strip():
        return ["no docstring"]
    if isinstance(obj, property):
        return []
    try:
        parsed = NumpyDocString(textwrap.dedent(doc))
    except Exception as exc:  # noqa: BLE001 - numpydoc's own parse errors
        return [f"numpydoc cannot parse it ({exc})"]
    if inspect.isclass(obj):
        return _class_problems(obj, parsed)
    return _function_problems(target, parsed)


def _documented(parsed, *sections) -> set[str]:
    names = set()
    for section in sections:
        for item in parsed[section]:
            names.update(n.strip().lstrip("*") for n in item.name.split(","))
    return names


def _arguments(function) -> list[str]:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    return [p for p in signature.parameters if p not in ("self", "cls")]


def _class_problems(cls, parsed) -> list[str]:
    if getattr(cls, "_is_protocol", False):
        return []  # an interface: its methods are documented, it has no constructor
    if dataclasses.is_dataclass(cls):
        arguments = [f.name for f in dataclasses.fields(cls) if f.init]
    elif "__init__" in vars(cls):
        arguments = _arguments(cls.__init__)
    else:
        return []  # inherits its constructor (and its documentation) from a base class
    documented = _documented(parsed, "Parameters", "Attributes", "Other Parameters")
    missing = [a for a in arguments if a not in documented]
    return [f"arguments not documented: {', '.join(missing)}"] if missing else []


def _function_problems(function, parsed) -> list[str]:
    found = []
    arguments = _arguments(function)
    documented = _documented(parsed, "Parameters", "Other Parameters")
    missing = [a for a in arguments if a not in documented]
    if missing:
        found.append(f"arguments not documented: {', '.join(missing)}")
    unknown = sorted(documented - set(arguments))
    if unknown:
        found.append(f"documents arguments it does not take: {', '.join(unknown)}")
    body = _body(function)
    if body is not None:
        returns, yields, raises = _behaviour(body)
        if (returns or yields) and not (parsed["Returns"] or parsed["Yields"]):
            found.append("returns a value but has no Returns section")
        if raises and not parsed["Raises"]:
            found.append("raises an exception but has no Raises section")
    return found


def _body(function):
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return None
    tree = ast.parse(source)
    return tree.body[0] if tree.body else None


def _behaviour(node) -> tuple[bool, bool, bool]:
    """(returns a value, yields, raises an exception) in the function's own body."""
    returns = yields = raises = False
    stack = [(child, False) for child in node.body]
    while stack:
        child, caught = stack.pop()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(child, ast.Return) and child.value is not None and not (
                isinstance(child.value, ast.Constant) and child.value.value is None):
            returns = True
        elif isinstance(child, (ast.Yield, ast.YieldFrom)):
            yields = True
        elif isinstance(child, ast.Raise) and child.exc is not None and not caught:
            raises = True
        if isinstance(child, ast.Try) and child.handlers:
            # raised in a try block with handlers: the function handles it itself
            stack.extend((c, True) for c in child.body)
            for rest in (child.handlers, child.orelse, child.finalbody):
                stack.extend((c, caught) for c in rest)
        else:
            stack.extend((c, caught) for c in ast.iter_child_nodes(child))
    return returns, yields, raises
