"""One registry type for every plug-in kind (swappers, head editors, face backends, metrics, executors).

Entries are objects or lazy ``"module:attr"`` strings, so registering costs no import; third-party
plug-ins come from a Python entry-point group; any ``module:attr`` string also resolves directly."""

from __future__ import annotations

import difflib
import importlib
import re
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from .errors import RegistryError

T = TypeVar("T")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def load_object(spec: str) -> Any:
    """Import ``"package.module:attr"`` (attr may be dotted)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise RegistryError(f"'{spec}' is not of the form 'module:attr'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        hint = ""
        if isinstance(exc, ModuleNotFoundError) and exc.name and module_name.startswith(exc.name):
            hint = (f"; if '{module_name.split('.')[0]}' is a file or package of yours, put the folder that holds it "
                    f"on PYTHONPATH (PYTHONPATH=/path/to/folder headswapbench ...) or pip install it")
        raise RegistryError(f"cannot import module '{module_name}' for '{spec}': {exc}{hint}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise RegistryError(f"module '{module_name}' has no attribute '{attr}' (from '{spec}')") from exc
    return obj


class Registry(Generic[T]):
    """Name → plug-in. ``get`` also accepts ``module:attr`` and names from the entry-point group."""

    def __init__(self, kind: str, base: type | None = None, entry_point_group: str | None = None):
        self.kind = kind
        self.base = base
        self.entry_point_group = entry_point_group
        self._entries: dict[str, Any] = {}
        self._eps: list | None = None

    def register(self, name: str, target: Any = None):
        """``reg.register("noop", "pkg.mod:Cls")`` or as a decorator ``@reg.register("noop")``."""
        if not _NAME.match(name):
            raise RegistryError(f"{self.kind} name '{name}' must be lower-case letters, digits, '-', '_' or '.'")

        def add(obj: Any) -> Any:
            if name in self._entries and self._entries[name] is not obj:
                raise RegistryError(f"{self.kind} '{name}' is already registered")
            self._entries[name] = obj
            return obj

        return add if target is None else add(target)

    def names(self) -> list[str]:
        found = set(self._entries)
        found.update(ep.name for ep in self._entry_points())
        return sorted(found)

    def _entry_points(self) -> list:
        """The group's entry points, read once per process (scanning every installed package's metadata costs
        ~50 ms, and an evaluation looks up each metric name several times while validating its config)."""
        if not self.entry_point_group:
            return []
        if self._eps is None:
            self._eps = list(entry_points(group=self.entry_point_group))
        return self._eps

    def get(self, name: str) -> Any:
        """The registered object (lazy strings imported now), checked against the base class."""
        if name in self._entries:
            obj = self._entries[name]
            if isinstance(obj, str):
                obj = self._entries[name] = load_object(obj)
        elif ":" in name:
            obj = load_object(name)
        else:
            eps = [ep for ep in self._entry_points() if ep.name == name]
            if not eps:
                close = difflib.get_close_matches(name, self.names(), n=3)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise RegistryError(
                    f"unknown {self.kind} '{name}'.{hint} Available: {', '.join(self.names()) or '(none)'}; "
                    f"or pass 'module:attr'."
                )
            obj = eps[0].load()
        if self.base is not None and isinstance(obj, type) and not issubclass(obj, self.base):
            raise RegistryError(f"{self.kind} '{name}' ({obj!r}) is not a subclass of {self.base.__name__}")
        return obj

    def __contains__(self, name: str) -> bool:
        return name in self.names()
