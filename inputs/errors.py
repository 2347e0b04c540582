"""One error type for every bad input: a profile file, a stack config key, an argument."""

from __future__ import annotations

from collections.abc import Iterable


class InputError(ValueError):
    """A bad input, located precisely: which file, which key, which value, what is allowed.

    Raised before any resource is registered, so nothing in the cluster is touched.
    """

    def __init__(self, source: str, key: str, value: object, problem: str, allowed: str):
        self.source = source
        self.key = key
        self.value = value
        self.problem = problem
        self.allowed = allowed
        super().__init__(f"{source}: key '{key}': {_show(value)} {problem}; allowed: {allowed}")


class InputErrors(ValueError):
    """Several independent bad inputs (for example two broken profile files), one line each."""

    def __init__(self, errors: Iterable[InputError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "(missing)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
