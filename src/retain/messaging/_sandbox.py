"""The Jinja2 sandbox messages are rendered in, and the limits that keep one template from
taking the sender down with it.

Two environments, made once: one for HTML (autoescape on: every value of a context comes
from outside, customers and the tracking door, so none is safe to print as HTML) and one
for subjects and plain text (no escaping: ``&amp;`` in a subject is a bug). Both are
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`\\ s with a strict undefined (a
misspelt name is an error, not an empty string), no loader (templates come as strings and
cannot include others) and Babel's formatting as filters.

Jinja's sandbox keeps templates from Python's internals (``__class__`` and the like) but, as
its documentation says, not from using up time and memory. So each rendering also has:

- a bound on what it writes (:data:`MAX_OUTPUT_CHARS` per part);
- a budget of loop steps (:data:`MAX_LOOP_STEPS`): every ``{% for %}`` is rewritten, once
  when the template is compiled, to draw from it, so nested loops over ``range`` end;
- a bound on any one value built by ``*``, ``+``, ``~``, ``**``, ``%``, ``replace``,
  ``join``, ``center`` and the like (:data:`MAX_VALUE_CHARS`), checked *before* the value
  is built;
- a budget of work (:data:`MAX_WORK_CHARS`): each filter, string method and operator is
  charged the size of what it reads, so a million small steps end too.

Only the filters useful in a message are kept: ``safe`` is gone (a template that wants
HTML writes it), as are ``pprint`` and ``tojson`` (they print internals), ``random`` (a
preview would differ from the message sent) and the ``lipsum`` global.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable, Iterator, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from babel import Locale
from jinja2 import StrictUndefined, Template, Undefined, nodes, pass_context
from jinja2.exceptions import TemplateSyntaxError
from jinja2.filters import FILTERS
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS
from jinja2.utils import missing
from jinja2.visitor import NodeTransformer

from retain.messaging import _formats
from retain.messaging._values import Absent, Record, missing_key, record_path

#: The most one part (subject, HTML or text) of one message may hold.
MAX_OUTPUT_CHARS = 1_000_000
#: The largest value a template may build along the way.
MAX_VALUE_CHARS = 1_000_000
#: The loop steps one part may take, all loops together.
MAX_LOOP_STEPS = 100_000
#: The characters one part may read through filters, methods and operators.
MAX_WORK_CHARS = 20_000_000
#: The longest template source.
MAX_SOURCE_CHARS = 200_000
#: The widest field a format string may ask for (``{:>10}``, ``%10s``).
MAX_FORMAT_WIDTH = 10_000
#: Integers a template builds stay below this many bits (``2 ** 100000`` is already silly).
MAX_INTEGER_BITS = 100_000
#: Loop and slice counts a filter may ask for (``batch``, ``slice``), and rounding digits.
MAX_FILTER_COUNT = 100_000
MAX_ROUND_DIGITS = 100

TEMPLATE_FILENAME = "<template>"


class LimitExceeded(Exception):
    """A rendering went past one of the bounds above; the message says which."""


@dataclass
class RenderState:
    """What one rendering formats with, and what it has left of its budgets."""

    locale: Locale
    zone: Any
    currency: str | None = None
    steps_left: int = MAX_LOOP_STEPS
    work_left: int = MAX_WORK_CHARS


_STATE: ContextVar[RenderState | None] = ContextVar("retain_render_state", default=None)


def _state() -> RenderState | None:
    return _STATE.get()


def _charge(size: int) -> None:
    state = _state()
    if state is None:  # compile time: Jinja folding a constant; the value bound still holds
        return
    state.work_left -= size
    if state.work_left < 0:
        raise LimitExceeded(
            f"the template did more work than a message may take (it read more than "
            f"{MAX_WORK_CHARS:,} characters): look for a loop over a long list or a long "
            f"value used many times"
        )


def _size(value: Any) -> int:
    if isinstance(value, str | Sized):
        try:
            return len(value)
        except Exception:  # an absent part or a record that refuses: its own error follows
            return 0
    return 1


def _value_bound(size: int, what: str) -> None:
    if size > MAX_VALUE_CHARS:
        raise LimitExceeded(
            f"{what} would make a value of {size:,} characters or items; a message may "
            f"build values of {MAX_VALUE_CHARS:,} at most"
        )
    _charge(size)


# -- format strings ----------------------------------------------------------------------

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.)")


def _check_widths(numbers: Iterable[str], pattern: str) -> None:
    for number in numbers:
        if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
            raise LimitExceeded(
                f"the format {pattern[:40]!r} asks for a field wider than "
                f"{MAX_FORMAT_WIDTH:,} characters"
            )


def check_percent_format(pattern: str) -> None:
    """Refuse ``%``-formats whose width or precision would build a huge string."""
    for match in _PERCENT_SPEC.finditer(pattern):
        _check_widths(match.group(1, 2), pattern)


def check_brace_format(pattern: str) -> None:
    """Refuse ``str.format`` patterns with a huge width or a width taken from an argument."""
    for _, _, spec, _ in string.Formatter().parse(pattern):
        if spec and "{" in spec:
            raise LimitExceeded(f"the format {pattern[:40]!r} takes a width from its values")
        _check_widths(re.findall(r"\d+", spec or ""), pattern)


# -- the environment ---------------------------------------------------------------------


class _Undefined(StrictUndefined):
    """Jinja's strict undefined, with errors that name the record (``customer has no
    'nickname'``) and the variable they are about, for :class:`TemplateProblem`."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if self._undefined_hint:
            return self._undefined_hint
        if isinstance(obj, Record):
            return missing_key(obj, name)
        if obj is None:
            return f"cannot read {name!r} of an empty value"
        return super()._undefined_message

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        error = self._undefined_exception(self._undefined_message)
        obj, name = self._undefined_obj, self._undefined_name
        if isinstance(obj, Record):
            error.retain_variable = f"{record_path(obj)}.{name}"
        elif isinstance(obj, Absent):
            error.retain_variable = obj.name
        elif obj is missing:
            error.retain_variable = name
        raise error


# Jinja's undefined binds its operators to the base class's failing method; point them at
# this one so every use of an undefined value says which variable it was.
for _name, _value in [*vars(Undefined).items(), *vars(StrictUndefined).items()]:
    if _value is Undefined._fail_with_undefined_error:
        setattr(_Undefined, _name, _Undefined._fail_with_undefined_error)


_GUARDED_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join"})


def _replaced_size(text: str, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


class MessageSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with the bounds above; see the module's docstring."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    _value_bound(len(sequence) * max(times, 0), "repeating a value")
            if isinstance(left, int) and isinstance(right, int):
                self._integer_bound(left.bit_length() + right.bit_length())
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            self._integer_bound(max(abs(left).bit_length() - 1, 0) * right)
        elif operator == "+" and isinstance(left, str | list | tuple):
            if isinstance(right, str | list | tuple):
                _value_bound(len(left) + len(right), "adding two values")
        elif operator == "%" and isinstance(left, str):
            check_percent_format(left)
            _charge(len(left) + _size(right))
        return super().call_binop(context, operator, left, right)

    @staticmethod
    def _integer_bound(bits: int) -> None:
        if bits > MAX_INTEGER_BITS:
            raise LimitExceeded(f"a number of about {bits:,} bits is beyond what a message needs")

    def getattr(self, obj: Any, attribute: str) -> Any:
        # A record's keys come before its methods: ``order.items`` is the order's items, not
        # Mapping.items. Names with an underscore stay out of reach either way.
        if isinstance(obj, Record) and not attribute.startswith("_") and attribute in obj:
            return obj[attribute]
        if isinstance(obj, Absent):
            return self.undefined(obj.problem(attribute), obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Absent):
            return self.undefined(obj.problem(argument), obj=obj, name=argument)
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        pattern = value.__self__

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            check_brace_format(pattern)
            _charge(len(pattern))
            return wrapped(*args, **kwargs)

        return checked

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _charge(len(owner))
            name = getattr(__obj, "__name__", "")
            if name in _GUARDED_METHODS:
                args = _check_string_method(owner, name, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def _check_string_method(text: str, name: str, args: tuple, kwargs: dict) -> tuple:
    """Refuse a string method call that would build a value past the bound; ``join`` gets
    its items as a list, so they are counted and then joined without being read twice."""
    if name in ("center", "ljust", "rjust", "zfill"):
        width = args[0] if args else kwargs.get("width", 0)
        if isinstance(width, int):
            _value_bound(width, f"{name}()")
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            _value_bound(len(text) + text.count("\t") * max(size, 0), "expandtabs()")
    elif name == "replace" and len(args) >= 2:
        _value_bound(_replaced_size(text, *args[:3]), "replace()")
    elif name == "join" and args:
        items = list(args[0])
        pieces = sum(len(item) for item in items if isinstance(item, str))
        _value_bound(pieces + len(text) * max(len(items) - 1, 0), "join()")
        args = (items, *args[1:])
    return args


# -- filters -----------------------------------------------------------------------------


def _charged(filter_function: Callable[..., Any], weight: int = 1) -> Callable[..., Any]:
    """A Jinja filter that first charges the size of the value it reads (times ``weight``
    for the filters that work through text in Python, character by character)."""
    takes_context = getattr(filter_function, "jinja_pass_arg", None) is not None

    @functools.wraps(filter_function)
    def charged(*args: Any, **kwargs: Any) -> Any:
        value = args[1] if takes_context else args[0]
        _charge(_size(value) * weight)
        return filter_function(*args, **kwargs)

    return charged


def _center(value: Any, width: Any = 80) -> Any:
    if isinstance(width, int):
        _value_bound(width, "center")
    return FILTERS["center"](value, width)


def _indent(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> Any:
    lines = str(value).count("\n") + 1
    prefix = width if isinstance(width, str) else " " * width if isinstance(width, int) else ""
    if isinstance(width, int):
        _value_bound(width, "indent")
    _value_bound(len(str(value)) + lines * len(prefix), "indent")
    return FILTERS["indent"](value, width, *args, **kwargs)


@pass_context
def _replace(context: Context, value: Any, old: Any, new: Any, count: Any = None) -> Any:
    _value_bound(_replaced_size(str(value), old, new, -1 if count is None else count), "replace")
    return FILTERS["replace"](context.eval_ctx, value, old, new, count)


@pass_context
def _join(context: Context, value: Any, d: Any = "", attribute: Any = None) -> Any:
    items = list(value)
    pieces = sum(len(item) for item in items if isinstance(item, str))
    separator = len(d) if isinstance(d, str) else 0
    _value_bound(pieces + separator * max(len(items) - 1, 0), "join")
    return FILTERS["join"](context.eval_ctx, items, d, attribute)


def _format(value: Any, *args: Any, **kwargs: Any) -> Any:
    check_percent_format(str(value))
    return FILTERS["format"](value, *args, **kwargs)


def _counted(name: str) -> Callable[..., Any]:
    def counted(value: Any, count: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(count, int) and count > MAX_FILTER_COUNT:
            raise LimitExceeded(f"{name}: {count:,} is more than {MAX_FILTER_COUNT:,}")
        return FILTERS[name](value, count, *args, **kwargs)

    return counted


def _round(value: Any, precision: Any = 0, method: str = "common") -> Any:
    if isinstance(precision, int) and abs(precision) > MAX_ROUND_DIGITS:
        raise LimitExceeded(f"round: {precision} digits is more than {MAX_ROUND_DIGITS}")
    return FILTERS["round"](value, precision, method)


#: Jinja's filters a message may use, as Jinja has them.
_PLAIN_FILTERS = (
    "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "e", "escape",
    "filesizeformat", "first", "float", "forceescape", "groupby", "int", "items", "last",
    "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "reverse",
    "select", "selectattr", "sort", "string", "striptags", "sum", "title", "trim",
    "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
)  # fmt: skip
#: Filters that cost more per character than a copy: how many times more (measured: urlize
#: reads about 400,000 characters a second, a copy hundreds of millions).
_SLOW_FILTERS = {"urlize": 50, "wordwrap": 20, "title": 5, "striptags": 5, "truncate": 5}
_GUARDED_FILTERS: dict[str, Callable[..., Any]] = {
    "center": _center,
    "indent": _indent,
    "replace": _replace,
    "join": _join,
    "format": _format,
    "batch": _counted("batch"),
    "slice": _counted("slice"),
    "round": _round,
}


def _formatting(function: Callable[..., str], *, zoned: bool = False) -> Callable[..., str]:
    """A formatting function as a filter (and global) that reads the rendering's locale.

    It takes the context only so Jinja never folds it at compile time: a compiled template
    is shared by every locale."""

    @pass_context
    def formatted(context: Context, value: Any, *args: Any, **kwargs: Any) -> str:
        state = _state()
        if state is None:
            raise RuntimeError("formatting outside a rendering")
        _check_defined(value)
        if zoned:
            kwargs["zone"] = state.zone
        return function(value, *args, locale=state.locale, **kwargs)

    formatted.__name__ = function.__name__
    return formatted


@pass_context
def _money(context: Context, amount: Any, currency: Any = None) -> str:
    """``{{ order.total | money(order.currency) }}``; without a currency (or an empty one,
    as orders imported without one have), the shop's (``shop.currency``)."""
    state = _state()
    if state is None:
        raise RuntimeError("formatting outside a rendering")
    _check_defined(amount)
    _check_defined(currency)
    if currency is None or currency == "":
        currency = state.currency
        if not currency:
            raise _formats.FormatProblem(
                "money: no currency: write money(order.currency) or money('THB'), or give "
                "the shop's currency (shop.currency)"
            )
    return _formats.format_money(amount, currency, locale=state.locale)


def _check_defined(value: Any) -> None:
    """Make an undefined or absent value fail with its own error, not a formatting one."""
    if isinstance(value, StrictUndefined):
        value._fail_with_undefined_error()
    if isinstance(value, Absent):
        value.fail()


FORMAT_FILTERS: dict[str, Callable[..., str]] = {
    "money": _money,
    "number": _formatting(_formats.format_number),
    "percent": _formatting(_formats.format_percent),
    "date": _formatting(_formats.format_date, zoned=True),
    "datetime": _formatting(_formats.format_datetime, zoned=True),
}


@pass_context
def _bounded_loop(context: Context, iterable: Any) -> Iterator[Any]:
    """What every ``{% for %}`` loops over: its iterable, one step of the budget at a time."""
    _check_defined(iterable)
    iterator = iter(iterable)

    def steps() -> Iterator[Any]:
        for item in iterator:
            state = _state()
            if state is not None:
                state.steps_left -= 1
                if state.steps_left < 0:
                    raise LimitExceeded(
                        f"the loops took more than {MAX_LOOP_STEPS:,} steps in all: look "
                        f"for loops inside loops"
                    )
            yield item

    return steps()


@pass_context
def _bounded_concat(context: Context, parts: list[Any]) -> str:
    """What every ``~`` becomes: Jinja's own joining, once the result is known to fit."""
    texts = [part if isinstance(part, str) else str(part) for part in parts]
    _value_bound(sum(map(len, texts)), "joining values with ~")
    return (markup_join if context.eval_ctx.autoescape else str_join)(parts)


def _finalize(value: Any) -> Any:
    """What ``{{ ... }}`` prints: ``None`` (a value the store does not have) as nothing,
    an absent part as an error naming it."""
    if value is None:
        return ""
    if isinstance(value, Absent):
        value.fail()
    return value


def _is_none(value: Any) -> bool:
    return value is None or isinstance(value, Absent)


def _is_defined(value: Any) -> bool:
    return TESTS["defined"](value) and not isinstance(value, Absent)


_LOOP_FILTER = "_retain_bounded_loop"
_CONCAT_FILTER = "_retain_bounded_concat"


def _environment(*, html: bool) -> MessageSandbox:
    environment = MessageSandbox(
        autoescape=html,
        undefined=_Undefined,
        finalize=_finalize,
        keep_trailing_newline=False,
        auto_reload=False,
        cache_size=0,
    )
    environment.filters = {
        name: _charged(FILTERS[name], _SLOW_FILTERS.get(name, 1)) for name in _PLAIN_FILTERS
    }
    environment.filters.update({k: _charged(v) for k, v in _GUARDED_FILTERS.items()})
    environment.filters.update(FORMAT_FILTERS)
    environment.filters[_LOOP_FILTER] = _bounded_loop
    environment.filters[_CONCAT_FILTER] = _bounded_concat
    environment.tests.update({"none": _is_none, "defined": _is_defined})
    environment.tests["undefined"] = lambda value: not _is_defined(value)
    del environment.globals["lipsum"]
    environment.globals.update(FORMAT_FILTERS)
    return environment


HTML_ENVIRONMENT = _environment(html=True)
TEXT_ENVIRONMENT = _environment(html=False)


#: What a message template may not do, and why.
_REFUSED: dict[type[nodes.Node], str] = {
    nodes.Extends: "a message template cannot extend another one",
    nodes.Include: "a message template cannot include another one",
    nodes.Import: "a message template cannot import another one",
    nodes.FromImport: "a message template cannot import another one",
    nodes.ScopedEvalContextModifier: "a message template cannot turn escaping off or on",
    nodes.EvalContextModifier: "a message template cannot turn escaping off or on",
}


class _Guard(NodeTransformer):
    """Rewrites a parsed template so its loops and ``~`` go through the bounds, and refuses
    what a message template may not do."""

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> nodes.Node:
        refused = _REFUSED.get(type(node))
        if refused is not None:
            raise TemplateSyntaxError(refused, node.lineno)
        node = self.generic_visit(node)
        if isinstance(node, nodes.For):
            node.iter = nodes.Filter(
                node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.lineno
            )
        elif isinstance(node, nodes.Concat):
            parts = nodes.List(node.nodes, lineno=node.lineno)
            return nodes.Filter(parts, _CONCAT_FILTER, [], [], None, None, lineno=node.lineno)
        return node


@functools.lru_cache(maxsize=512)
def compile_template(source: str, *, html: bool) -> Template:
    """A template compiled once per source, with the bounds in it; the sender renders the
    same few templates for thousands of customers. Raises ``TemplateSyntaxError`` (with its
    line) or :class:`LimitExceeded` for a source that is too long."""
    if len(source) > MAX_SOURCE_CHARS:
        raise LimitExceeded(
            f"the template is {len(source):,} characters long; {MAX_SOURCE_CHARS:,} at most"
        )
    environment = HTML_ENVIRONMENT if html else TEXT_ENVIRONMENT
    tree = _Guard().visit(environment.parse(source))
    code = environment.compile(tree, filename=TEMPLATE_FILENAME)
    return environment.template_class.from_code(environment, code, environment.make_globals(None))


def render_template(template: Template, values: dict[str, Any], state: RenderState) -> str:
    """The template's text for these values, in this state's locale and zone, within the
    bounds. Errors are Jinja's (with the template's line in their traceback), a
    :class:`~retain.messaging._formats.FormatProblem`, a :class:`LimitExceeded`, or
    whatever Python raised for the template's own mistakes (``1 / 0``)."""
    token = _STATE.set(state)
    chunks: list[str] = []
    written = 0
    try:
        stream = template.generate(values)
        try:
            for chunk in stream:
                written += len(chunk)
                if written > MAX_OUTPUT_CHARS:
                    raise LimitExceeded(
                        f"the template wrote more than {MAX_OUTPUT_CHARS:,} characters: "
                        f"look for a loop that does not end"
                    )
                chunks.append(chunk)
        finally:
            stream.close()
    finally:
        _STATE.reset(token)
    return "".join(chunks)
