"""A phase map (spanbench.phase_map) as two DuckDB scalar macros over a span's name and
attributes, defined on a connection with `define`:

- `bench_mapped_phase(name, attributes, phase)`: the phase the map gives the span; a span the
  map does not know keeps `phase` (its stored `bench.phase`). Driver and derived spans
  (`bench.source`) are spanbench's own and always keep theirs.
- `bench_phase_known(name, attributes)`: whether a rule of the map matches the span.

The rules become one CASE, first match first, as the map reads them. Its conditions are bare
(a NULL condition is no match): DuckDB then evaluates each one only on the rows the branches
before it left, and a rule's attribute lookups only on the rows whose name matched. A span
whose name no rule names keeps its phase before the attribute map is read at all.
"""

from __future__ import annotations

import duckdb

from spanbench.phase_map import ANY_NAME, PREFIX_MARK, PhaseMap, Rule
from spanbench.vocabulary import Attr, Source


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _match(rule: Rule) -> str:
    """The rule's condition; NULL where an attribute it reads is absent."""
    parts = [] if rule.name == ANY_NAME else [f"name = {_text(rule.name)}"]
    for key, pattern in rule.when.items():
        value = f"attributes[{_text(key)}]"
        if pattern.endswith(PREFIX_MARK):
            parts.append(f"starts_with({value}, {_text(pattern[:-len(PREFIX_MARK)])})")
        else:
            parts.append(f"{value} = {_text(pattern)}")
    return " AND ".join(parts) if parts else "true"


def _condition(rule: Rule) -> str:
    """The rule's condition, false where an attribute it reads is absent."""
    return f"coalesce({_match(rule)}, false)"


def mapped_phase_sql(phase_map: PhaseMap) -> str:
    own = f"attributes[{_text(Attr.SOURCE)}] IN ({_text(Source.DRIVER)}, {_text(Source.DERIVED)})"
    names = sorted({rule.name for rule in phase_map.rules})
    branches = []
    if names and ANY_NAME not in names:
        branches.append(f"WHEN name NOT IN ({', '.join(map(_text, names))}) THEN phase")
    branches.append(f"WHEN {own} THEN phase")
    branches += [f"WHEN {_match(rule)} THEN "
                 f"{'NULL' if rule.phase is None else _text(rule.phase)}"
                 for rule in phase_map.rules]
    return "CASE " + " ".join(branches) + " ELSE phase END"


def known_sql(phase_map: PhaseMap) -> str:
    conditions = [_condition(rule) for rule in phase_map.rules]
    return "(" + " OR ".join(conditions) + ")" if conditions else "false"


def define(con: duckdb.DuckDBPyConnection, phase_map: PhaseMap) -> duckdb.DuckDBPyConnection:
    con.execute("CREATE OR REPLACE TEMP MACRO bench_mapped_phase(name, attributes, phase) AS "
                + mapped_phase_sql(phase_map))
    con.execute("CREATE OR REPLACE TEMP MACRO bench_phase_known(name, attributes) AS "
                + known_sql(phase_map))
    return con
