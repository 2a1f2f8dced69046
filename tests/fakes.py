"""Test doubles for the runner: record argv, answer with scripted results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from overlay.core.runner import Argv, Result, Runner


@dataclass
class FakeRunner(Runner):
    """Records argv lists; answers with scripted results (by argv prefix), else exit 0."""

    calls: list[tuple[str, ...]] = field(default_factory=list)
    options: list[dict[str, object]] = field(default_factory=list)  # the keyword arguments of each call
    responses: dict[str, Result] = field(default_factory=dict)
    # argv[0] -> a function that acts like the tool (writes its files), returning its result
    tools: dict[str, Callable[[list[str]], Result]] = field(default_factory=dict)

    def _answer(self, argv: list[str]) -> Result:
        if argv[0] in self.tools:
            return self.tools[argv[0]](argv)
        key = " ".join(argv)
        for prefix, result in self.responses.items():
            if key.startswith(prefix):
                return result
        return Result(tuple(argv), 0)

    def run(self, argv: Argv, **kwargs: object) -> Result:  # type: ignore[override]
        args = [str(a) for a in argv]
        self.calls.append(tuple(args))
        self.options.append(kwargs)
        return self._answer(args)

    def stream(self, argv: Argv, **kwargs: object) -> int:  # type: ignore[override]
        args = [str(a) for a in argv]
        self.calls.append(tuple(args))
        self.options.append(kwargs)
        on_line = kwargs.get("on_line")
        log_file = kwargs.get("log_file")
        result = self._answer(args)
        for line in result.stdout.splitlines():
            if log_file is not None:
                log_file.write(line + "\n")  # type: ignore[attr-defined]
            if callable(on_line):
                on_line(line)
        return result.returncode

    def argv0s(self) -> list[str]:
        return [c[0] for c in self.calls]
