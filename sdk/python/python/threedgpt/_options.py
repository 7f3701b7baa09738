"""The shapes of ``Client.options()`` and ``default_options()``: each generate option with its
default and its range or choices, and the installed models of each role."""

from __future__ import annotations

from typing import Literal, TypedDict


class OptionSpec(TypedDict, total=False):
    """One generate option: ``kind`` is "int", "float", "choice" or "flag"; ints and floats have
    ``min``/``max`` (and ints ``allowed``, when only those values are), choices ``choices``
    (name, description) and ``models`` (the role whose installed models may be named too)."""

    name: str
    flag: str
    label: str
    description: str
    kind: Literal["int", "float", "choice", "flag"]
    default: int | float | str | bool
    min: int | float
    max: int | float
    allowed: list[int]
    choices: list[tuple[str, str]]
    models: str | None


class OptionTable(TypedDict):
    options: list[OptionSpec]
    models: dict[str, list[str]]
