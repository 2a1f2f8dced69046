"""Rendering an overlay's `*.j2` files: sandboxed, confined to the overlay, bounded.

Templates are input from other people and run in a process that runs as
root. They render in jinja2's SandboxedEnvironment (no access to Python
internals) with StrictUndefined; `include` and `import` find files only inside
the template's own overlay, never through a symlink out of it; string and
number operations that would build huge values are refused; a template gets
a few seconds and a bounded output. Every error names the file and line.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from overlay.core.errors import OverlayError

MAX_OUTPUT = 8 << 20  # bytes of rendered text per template
MAX_VALUE = 1 << 20  # length of a string or list built by * or +
MAX_EXPONENT = 64
SECONDS = 5


class TemplateLimit(Exception):
    """A template asked for more than a config-space file needs."""


class _Loader(jinja2.FileSystemLoader):
    """Finds included templates only inside one overlay, and never through a symlink out of it."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root))
        self.root = root.resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if not Path(filename).resolve().is_relative_to(self.root):
            raise jinja2.TemplateNotFound(template, f"{template} leads outside the overlay")
        return source, filename, uptodate


class _Sandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise TemplateLimit(f"exponent {right} is larger than {MAX_EXPONENT}")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(count, int)
                    and len(seq) * count > MAX_VALUE
                ):
                    raise TemplateLimit(f"'*' would build a value of {len(seq) * count} items")
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, str | list | tuple) and len(result) > MAX_VALUE:
            raise TemplateLimit(f"a value of {len(result)} items is larger than {MAX_VALUE}")
        return result


def environment(root: Path) -> jinja2.Environment:
    return _Sandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, loader=_Loader(root))


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Interrupt a template that runs too long (the main thread only; elsewhere there is no limit)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TemplateLimit(f"rendering took longer than {seconds}s")

    try:
        previous = signal.signal(signal.SIGALRM, expire)
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _line(tb: TracebackType | None, root: Path) -> tuple[Path | None, int | None]:
    """The innermost template frame of a traceback: jinja2 maps template code back to its lines."""
    found: tuple[Path | None, int | None] = (None, None)
    while tb is not None:
        filename = Path(tb.tb_frame.f_code.co_filename)
        if filename.is_absolute() and filename.resolve().is_relative_to(root):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def render(source: Path, root: Path, variables: Mapping[str, str]) -> str:
    """The rendered text of the template `source`, which lies in the overlay `root`."""
    root = root.resolve()
    env = environment(root)
    try:
        template = env.get_template(source.resolve().relative_to(root).as_posix())
        out: list[str] = []
        size = 0
        with _deadline(SECONDS):
            for chunk in template.generate(**variables):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise TemplateLimit(f"the output is larger than {MAX_OUTPUT >> 20} MiB")
                out.append(chunk)
        return "".join(out)
    except UnicodeDecodeError:
        raise OverlayError("template is not UTF-8 text", path=source, hint="save it as UTF-8") from None
    except jinja2.TemplateSyntaxError as exc:
        raise OverlayError(
            f"template error: {exc.message}", path=exc.filename or source, line=exc.lineno
        ) from None
    except jinja2.UndefinedError as exc:
        path, line = _line(exc.__traceback__, root)
        raise OverlayError(
            f"template uses an undefined variable: {exc.message}",
            path=path or source,
            line=line,
            hint="define it under 'variables' in the image definition or the overlay",
        ) from None
    except jinja2.TemplateNotFound as exc:
        path, line = _line(exc.__traceback__, root)
        raise OverlayError(
            f"template includes {exc.name}, which is not in this overlay",
            path=path or source,
            line=line,
            hint=f"include paths are relative to {root}",
        ) from None
    except Exception as exc:  # noqa: BLE001 - a hostile template may raise anything; it is input
        path, line = _line(exc.__traceback__, root)
        reason = (
            str(exc)
            if isinstance(exc, TemplateLimit | jinja2.TemplateError)
            else f"{type(exc).__name__}: {exc}"
        )
        raise OverlayError(f"template error: {reason}", path=path or source, line=line) from None
