"""Paged lists: one reading of ``?page=`` and one offset rule for every dashboard page, so a
typed page number can never reach a query as anything but a small positive int."""

from __future__ import annotations

from dataclasses import dataclass

from guildbank.web.forms import parse_whole

__all__ = ["Paging"]

MAX_PAGE_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Paging:
    """Page ``number`` (from 1) of a list shown ``size`` rows at a time."""

    number: int
    size: int

    @classmethod
    def parse(cls, raw: str, size: int) -> Paging:
        """The page asked for; the first one when ``raw`` is empty or not a sane number."""
        number = parse_whole(raw, max_digits=MAX_PAGE_DIGITS)
        return cls(max(1, number) if number is not None else 1, size)

    @staticmethod
    def valid(raw: str) -> bool:
        """Whether ``raw`` names a page: a whole number from 1 (of sane length)."""
        number = parse_whole(raw, max_digits=MAX_PAGE_DIGITS)
        return number is not None and number >= 1

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.number - 1) * self.size

    def count(self, total: int) -> int:
        """How many pages ``total`` rows fill (at least one, so "page 1 of 1" when empty)."""
        return max(1, -(-total // self.size))
