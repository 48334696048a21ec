"""One page of a list a view already holds, with links to the pages around it (built by the view, so that
they keep its filters)."""
from dataclasses import dataclass
from math import ceil


@dataclass
class Page:
    rows: list
    first: int  # the number of its first row (from 1), 0 when there is none
    last: int
    total: int
    previous_url: str | None
    next_url: str | None


def page_of(rows, number, size, url_of):
    """Page ``number`` (from 1; the first when out of range) of ``rows``, ``size`` rows a page; ``url_of(n)``
    is the address of page ``n``."""
    pages = max(1, ceil(len(rows) / size))
    number = number if 1 <= number <= pages else 1

    def link(to):
        return url_of(to) if 1 <= to <= pages else None

    start = (number - 1) * size
    shown = rows[start:start + size]
    return Page(shown, start + 1 if shown else 0, start + len(shown), len(rows), link(number - 1), link(number + 1))
