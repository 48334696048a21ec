"""One page of a list, with links to the pages around it (built by the view, so that they keep its filters):
from a list the view already holds, or fetched by the database when the list is too long to hold."""
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
    return fetched_page(len(rows), lambda start, count: rows[start:start + count], number, size, url_of)


def fetched_page(total, fetch, number, size, url_of):
    """Page ``number`` of a list of ``total`` rows of which ``fetch(start, count)`` returns ``count`` from
    ``start`` (from 0): the database pages it."""
    pages = max(1, ceil(total / size))
    number = number if 1 <= number <= pages else 1

    def link(to):
        return url_of(to) if 1 <= to <= pages else None

    start = (number - 1) * size
    shown = fetch(start, size)
    return Page(shown, start + 1 if shown else 0, start + len(shown), total, link(number - 1), link(number + 1))
