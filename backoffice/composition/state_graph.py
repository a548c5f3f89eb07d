"""The state machines as diagrams (``manage.py export_state_graph``), read from the models'
``@transition`` declarations through :func:`backoffice.fsm.transition_graph`: every model with
an FSM field, each transition with its guards (the condition's name and the sentence it shows
when it refuses, see :func:`backoffice.fsm.guard`)."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django_fsm import ANY_OTHER_STATE, ANY_STATE, FSMFieldMixin

from backoffice.fsm import state_field, transition_graph

FORMATS = ("mermaid", "dot")
_FIELD = re.compile(r"\{obj\.(\w+)[^}]*\}")
_MERMAID_SPECIAL = re.compile(r'[#:;{}"<>]')


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    name: str
    guards: tuple[str, ...]  # "condition: reason"


def fsm_models() -> list[type[models.Model]]:
    """Every model with a state field, by app and model name (a proxy shows its concrete
    model's machine, which is drawn once)."""
    found = [
        model
        for model in apps.get_models()
        if not model._meta.proxy and any(isinstance(f, FSMFieldMixin) for f in model._meta.fields)
    ]
    return sorted(found, key=lambda m: m._meta.label)


def _guard(condition: Callable[..., Any]) -> str:
    reason = str(getattr(condition, "reason", ""))  # a lazy translation: the English text
    # A value in the sentence ("{obj.respond_by:%Y-%m-%d}") is shown by its field's name: the
    # diagram shows the rule, not a value.
    reason = _FIELD.sub(lambda m: f"<{m.group(1)}>", reason)
    return f"{condition.__name__}, else: {reason}" if reason else condition.__name__


def _value(state: Any) -> str:
    return getattr(state, "value", state)


def edges(model: type[models.Model]) -> list[Edge]:
    """Each (source, transition, target) with the guards of that declaration. A target that a
    function computes is the one :func:`~backoffice.fsm.transition_graph` finds for each source;
    when that is one and the same state for every source, the function decides on something
    else (e.g. whether the goods come back) and every state it may return is drawn."""
    field = state_field(model)
    states = [value for value, _ in field.choices]
    graph = transition_graph(model)
    found: list[Edge] = []
    for transition in field.get_all_transitions(model):
        if transition.source == ANY_STATE:
            sources = states
        elif transition.source == ANY_OTHER_STATE:
            sources = [state for state in states if state != _value(transition.target)]
        else:
            sources = [_value(transition.source)]
        per_source = {
            source: [target for name, target in graph[source] if name == transition.name]
            for source in sources
        }
        allowed = [_value(s) for s in getattr(transition.target, "allowed_states", None) or []]
        answers = {tuple(targets) for targets in per_source.values()}
        if allowed and len(answers) == 1 and len(next(iter(answers))) == 1:
            per_source = dict.fromkeys(sources, allowed)
        guards = tuple(_guard(c) for c in transition.conditions)
        for source, targets in per_source.items():
            for target in targets:
                edge = Edge(source, target, transition.name, guards)
                if edge not in found:
                    found.append(edge)
    return sorted(found, key=lambda e: (states.index(e.source), e.name, states.index(e.target)))


def _initial(model: type[models.Model]) -> str:
    default = state_field(model).default
    return getattr(default, "value", default)


def _title(model: type[models.Model]) -> str:
    return f"{model._meta.label} ({state_field(model).name})"


def _mermaid_text(text: str) -> str:
    """Mermaid's entity codes for the characters that end or break a label."""
    return _MERMAID_SPECIAL.sub(lambda m: f"#{ord(m.group())};", text)


def mermaid(model: type[models.Model]) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {_initial(model)}"]
    finals = {value for value, _ in state_field(model).choices}
    for edge in edges(model):
        finals.discard(edge.source)
        label = "<br>".join(
            [_mermaid_text(edge.name), *(f"[{_mermaid_text(g)}]" for g in edge.guards)]
        )
        lines.append(f"    {edge.source} --> {edge.target}: {label}")
    lines += [f"    {state} --> [*]" for state in sorted(finals)]
    return "\n".join(lines)


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(model: type[models.Model]) -> str:
    name = model._meta.label.replace(".", "_")
    lines = [
        f'digraph "{name}" {{',
        f'    label="{_dot_text(_title(model))}";',
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="sans-serif"];',
        '    edge [fontname="sans-serif", fontsize=10];',
        "    __start [shape=point];",
        f'    __start -> "{_initial(model)}";',
    ]
    for edge in edges(model):
        label = "\\n".join([edge.name, *(f"[{g}]" for g in edge.guards)])
        lines.append(f'    "{edge.source}" -> "{edge.target}" [label="{_dot_text(label)}"];')
    lines.append("}")
    return "\n".join(lines)


def export(fmt: str = "mermaid") -> str:
    """Every state machine: Markdown with one Mermaid block each, or one dot graph each."""
    parts = []
    for model in fsm_models():
        if fmt == "dot":
            parts.append(dot(model))
        else:
            parts.append(f"#### {_title(model)}\n\n```mermaid\n{mermaid(model)}\n```")
    return "\n\n".join(parts) + "\n"
