"""Warnings about some rows of a file, that add up over the blocks of a streamed file.

A converter that finds rows worth telling the operator about (fills outside trading hours, not in
USD, of an unknown event kind, exact duplicate lines, ...) words it with a count and the first
line over the rows it was given. A streamed file gives it one block at a time
(``stream.stage_blocks``), so each warning is a :class:`RowWarning`: it reads as its text (a
``str``), and carries its count, its first line (or day) and what tells it apart from the others,
so that :func:`merge_block_warnings` can say what the whole-file reader would have said: the
counts summed, the first line the file's first, the warnings in the order the converters emit
them.
"""

from __future__ import annotations

from collections.abc import Iterable

# The order in which the converters emit their warnings over one table (fills_columns /
# mapped_columns, then fills_table): merged warnings are listed in this order.
LIQUIDITY, CURRENCY, EVENT_KIND, OUTSIDE_HOURS, DUPLICATE_ROWS, NOT_A_SESSION = range(6)


class RowWarning(str):
    """A warning about some rows, as text, with what :func:`merge_block_warnings` needs.

    ``template`` is formatted with ``n`` (how many rows, or days when ``days`` is given),
    ``first`` (the first line, or the earliest of ``days``) and ``fields``; ``order`` is the
    converter's rank (the module's constants), ``key`` tells apart warnings of one converter (a
    column, a calendar, an event kind), ``sort`` orders those (the smallest over the blocks
    wins). ``fields`` belong to the ``first`` row (they follow it when blocks are merged).
    """

    def __new__(cls, template: str, *, order: int, key: tuple = (), n: int = 0,
                first: object = None, sort: object = None, days: Iterable | None = None,
                **fields):
        days = None if days is None else frozenset(days)
        if days is not None:
            n, first = len(days), min(days)
        self = super().__new__(cls, template.format(n=n, first=first, **fields))
        self.template, self.order, self.key, self.n, self.first = template, order, key, n, first
        self.sort, self.days, self.fields = sort, days, fields
        return self

    def __reduce__(self):  # copies and pickles are plain text
        return (str, (str(self),))

    def plus(self, other: RowWarning) -> RowWarning:
        """This warning and the same one of a later block, as one."""
        earlier = self if self.first <= other.first else other
        sorts = [s for s in (self.sort, other.sort) if s is not None]
        if self.days is not None:
            return RowWarning(self.template, order=self.order, key=self.key,
                              days=self.days | other.days, sort=min(sorts, default=None),
                              **earlier.fields)
        return RowWarning(self.template, order=self.order, key=self.key, n=self.n + other.n,
                          first=earlier.first, sort=min(sorts, default=None), **earlier.fields)


def merge_block_warnings(blocks: list[list[str]]) -> list[str]:
    """The warnings of a file from those of its blocks, in order: the header's (plain text, the
    same in every block: the first block's), then the row warnings added up
    (:meth:`RowWarning.plus`) in the converters' order. Plain text throughout."""
    if not blocks:
        return []
    header = [w for w in blocks[0] if not isinstance(w, RowWarning)]
    merged: dict[tuple, RowWarning] = {}
    for warnings in blocks:
        for w in warnings:
            if isinstance(w, RowWarning):
                k = (w.order, w.key)
                merged[k] = w if k not in merged else merged[k].plus(w)
    rows = sorted(merged.values(), key=lambda w: (w.order, w.sort is None, w.sort))
    return [str(w) for w in (*header, *rows)]

