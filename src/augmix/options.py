"""Settings as dataclass fields that carry their command-line form.

``option`` attaches a field's help text and how its flag parses, so the verbs ``train``,
``evaluate``, ``corrupt`` and ``perturb`` are generated from ``TrainConfig``, ``EvalConfig`` and
``GenerateConfig`` (``augmix.cli``) and cannot drift from them: a new setting is one field.

Metadata the command line reads (all optional):

* ``help``: the text (``{verb}`` is replaced by the verb), or {verb: text}, or a function
  returning either (for texts that list a table's names, built only when a parser is);
* ``flag``: the option's name when it is not ``--field-name``, or {verb: name};
* ``choices``; ``minimum`` (numbers); ``metavar``;
* ``kind``: ``"names"`` (comma-separated names) or ``"ints"`` (comma-separated integers) for tuples;
* ``parse``: a function from the flag's text to the value (instead of the field's type);
* ``convert``: a function applied to the parsed value before the config is made (e.g. a file
  of indices read into a tuple);
* ``positional``: an optional positional argument; ``group``: options of one group exclude
  each other; ``verbs``: the verbs that have the flag (default: every verb of the config);
* ``cli=False``: no flag of its own (say in the help where its value comes from).
"""

from __future__ import annotations

from dataclasses import MISSING, field
from typing import Any


def option(default: Any = MISSING, help: str | dict[str, str] = "", *, factory: Any = MISSING, repr: bool = True,
           **meta: Any) -> Any:
    """A dataclass field with its help text and command-line metadata (see the module)."""
    return field(default=default, default_factory=factory, repr=repr, metadata={"help": help, **meta})
