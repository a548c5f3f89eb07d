"""Checking and running django-fsm transitions the same way everywhere.

Models declare transitions with ``@transition`` (guards only, no side effects beyond their own
fields) and conditions made with :func:`guard`, which carry the sentence shown when they fail.
Services call :func:`run_transition`; GraphQL's ``availableTransitions`` and the admin buttons
call :func:`transition_checks`; imports find the way from one state to another with
:func:`transition_paths`, read from the same declarations.
"""

import functools
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language, gettext
from django_fsm import ANY_OTHER_STATE, ANY_STATE, FSMFieldMixin, State, TransitionNotAllowed

from backoffice import clock
from backoffice.audit import TransitionLog, record_transition
from backoffice.errors import Code, PermissionDenied
from backoffice.text import clean_text


@dataclass(frozen=True)
class TransitionCheck:
    name: str
    allowed: bool
    reason: str | None = None
    code: str | None = None

    def raise_if_refused(self) -> None:
        if self.allowed:
            return
        if self.code == Code.PERMISSION_DENIED:
            raise PermissionDenied(self.reason or gettext("Permission denied."))
        raise ValidationError(self.reason, code=self.code)


def guard(reason: str, *, code: Code = Code.INVALID_TRANSITION) -> Callable:
    """Mark a condition function with the sentence and code used when it is not met.

    ``reason`` may use ``{obj}`` fields, e.g. ``"the dispute window closed on {obj.x}"``.
    """

    def decorate(condition: Callable[[Any], bool]) -> Callable[[Any], bool]:
        condition.reason = reason  # type: ignore[attr-defined]
        condition.code = code  # type: ignore[attr-defined]
        return condition

    return decorate


def state_field(instance: models.Model | type[models.Model]) -> FSMFieldMixin:
    """The state field of a model, or of an instance's model."""
    return _state_field(instance if isinstance(instance, type) else type(instance))


@functools.cache
def _state_field(model: type[models.Model]) -> FSMFieldMixin:
    return next(f for f in model._meta.fields if isinstance(f, FSMFieldMixin))


def transition_names(model: type[models.Model]) -> list[str]:
    """Transition method names of ``model``, in declaration order."""
    field = next(f for f in model._meta.fields if isinstance(f, FSMFieldMixin))
    return list(dict.fromkeys(t.name for t in field.get_all_transitions(model)))


@functools.cache
def transition_graph(model: type[models.Model]) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each state's ways out, ``state -> ((transition name, target), ...)``, as the model's
    ``@transition`` declarations give them. A target a function computes (``GET_STATE``) is
    asked for each source with a stand-in holding only that state (an order's ``cancel`` goes
    unpaid -> cancelled but paid -> refunded); when the function needs more than the state to
    answer, every state it may return is a way out."""
    field = next(f for f in model._meta.fields if isinstance(f, FSMFieldMixin))
    states = [value for value, _ in field.choices]
    edges: dict[str, list[tuple[str, str]]] = {state: [] for state in states}
    for transition in field.get_all_transitions(model):
        if transition.source == ANY_STATE:
            sources = states
        elif transition.source == ANY_OTHER_STATE:
            sources = [state for state in states if state != transition.target]
        else:
            sources = [transition.source]
        for source in sources:
            for target in _targets(transition, field.name, source):
                if (transition.name, target) not in edges.setdefault(source, []):
                    edges[source].append((transition.name, target))
    return {state: tuple(ways) for state, ways in edges.items()}


def _targets(transition: Any, field_name: str, source: str) -> list[str]:
    target = transition.target
    if not isinstance(target, State):
        states = [] if target is None else [target]
    else:
        try:
            states = [target.get_state(SimpleNamespace(**{field_name: source}), transition, None)]
        except Exception:  # it reads more than the state (or the call's arguments): any of them
            states = list(target.allowed_states)
    return [getattr(state, "value", state) for state in states]  # plain values, not enum members


def transition_paths(
    model: type[models.Model], source: str, target: str, *, names: Collection[str]
) -> Iterator[tuple[tuple[str, str], ...]]:
    """Every way from ``source`` to ``target`` through the transitions ``names`` (no state
    twice), as ``((transition name, state reached), ...)``; the empty path when they are equal.
    Guards and permissions are not judged here: running the transitions does that."""
    graph = transition_graph(model)

    def walk(state: str, seen: frozenset[str]) -> Iterator[tuple[tuple[str, str], ...]]:
        if state == target:
            yield ()
            return
        for name, reached in graph.get(state, ()):
            if name in names and reached not in seen:
                for rest in walk(reached, seen | {reached}):
                    yield ((name, reached), *rest)

    yield from walk(source, frozenset({source}))


def check_transition(
    instance: models.Model, name: str, actor: Any, *, at: datetime | None = None
) -> TransitionCheck:
    """Whether ``actor`` may run ``name`` on ``instance`` at ``at`` (default: now), and why not.

    Guards that depend on time read :func:`transition_time`, so a replayed deadline run or an
    import judges each move at its own moment rather than at the wall clock's."""
    instance._transition_at = clock.resolve(at)
    meta = getattr(type(instance), name)._django_fsm
    state = state_field(instance).get_state(instance)
    if not meta.has_transition(state):
        label = instance.get_status_display() if hasattr(instance, "get_status_display") else state
        return _not_from_here(instance, name, label)
    return _check(instance, name, meta.get_transition(state), actor)


def transition_time(instance: models.Model) -> datetime:
    """The moment the transition being checked happens (see :func:`check_transition`)."""
    return getattr(instance, "_transition_at", None) or clock.now()


def transition_checks(instance: models.Model, actor: Any) -> list[TransitionCheck]:
    """Every transition of the model, checked for ``actor`` now. Read from the state's row of
    :func:`_state_table`: a transition that cannot start from this state is refused without
    looking at anything else, so guards and permissions run only where they can decide."""
    state = state_field(instance).get_state(instance)
    row = _state_table(type(instance)).get(state)
    if row is None:  # a state the field does not declare: the long way
        return [check_transition(instance, n, actor) for n in transition_names(type(instance))]
    instance._transition_at = clock.resolve(None)
    refused = _refusals(type(instance), state, get_language())
    return [
        _check(instance, name, transition, actor) if transition is not None else refused[name]
        for name, transition, _label in row
    ]


@functools.cache
def _refusals(
    model: type[models.Model], state: str, language: str | None
) -> dict[str, TransitionCheck]:
    """The refusals of ``state``'s row, translated once per language: a page of orders would
    otherwise translate the same sentence three times for every order and transition."""
    return {
        name: _not_from_here(model, name, label)
        for name, transition, label in _state_table(model)[state]
        if transition is None
    }


def _not_from_here(
    instance: models.Model | type[models.Model], name: str, label: Any
) -> TransitionCheck:
    """``name`` cannot start from the instance's state (shown as ``label``)."""
    return TransitionCheck(
        name,
        False,
        gettext("Not possible while the %(verbose_name)s is %(label)s.")
        % {"verbose_name": instance._meta.verbose_name, "label": label},
        Code.INVALID_TRANSITION,
    )


@functools.cache
def _state_table(model: type[models.Model]) -> dict[str, tuple[tuple[str, Any, Any], ...]]:
    """For each declared state, each transition in :func:`transition_names`' order as
    ``(name, django-fsm transition, None)`` when it may start there, else ``(name, None,
    the state's label)`` (a refusal whatever else holds; the label stays lazy, translated when
    shown)."""
    field = _state_field(model)
    shows_label = hasattr(model, "get_status_display")
    table = {}
    for state, label in field.choices:
        row = []
        for name in transition_names(model):
            meta = getattr(model, name)._django_fsm
            if meta.has_transition(state):
                row.append((name, meta.get_transition(state), None))
            else:
                row.append((name, None, label if shows_label else state))
        table[state] = tuple(row)
    return table


def _check(instance: models.Model, name: str, transition: Any, actor: Any) -> TransitionCheck:
    """The guards, then the permission, of a transition that may start from the state."""
    for condition in transition.conditions:
        if not condition(instance):
            reason = getattr(
                condition, "reason", gettext("A condition of this transition is not met.")
            )
            code = getattr(condition, "code", Code.INVALID_TRANSITION)
            return TransitionCheck(name, False, reason.format(obj=instance), code)
    if not transition.has_perm(instance, actor):
        return TransitionCheck(
            name, False, gettext("You do not have permission to do this."), Code.PERMISSION_DENIED
        )
    return TransitionCheck(name, True)


def run_transition(
    instance: models.Model,
    name: str,
    *,
    actor: Any,
    at: datetime,
    note: str = "",
    audit: dict[str, Any] | None = None,
    permission_checked: bool = False,
    **kwargs: Any,
) -> TransitionLog:
    """Check ``name`` for ``actor``, run it on the loaded (and locked) instance, record the audit
    row (``audit`` adds fields of the log model). The caller saves the instance; both happen in
    the caller's transaction.

    ``permission_checked=True`` skips only the permission check, for a move that follows from
    another one whose permission the caller has checked (an order moved by its dispute)."""
    check = check_transition(instance, name, actor, at=at)
    if not (permission_checked and check.code == Code.PERMISSION_DENIED):
        check.raise_if_refused()
    note = clean_text(note, field="note", multiline=True)
    source = state_field(instance).get_state(instance)
    try:
        getattr(instance, name)(at=at, **kwargs)
    except TransitionNotAllowed as exc:  # the checks above make this a race or a bug
        raise ValidationError(str(exc), code=Code.INVALID_TRANSITION) from exc
    return record_transition(
        instance,
        transition=name,
        source=source,
        target=state_field(instance).get_state(instance),
        actor=actor,
        note=note,
        at=at,
        **(audit or {}),
    )
