"""Integers from query strings, form fields and URL parts: one strict parser, bounded.

`str.isdigit()` and `int()` accept far more than the digits a client should send: "²" is a
digit to `isdigit()` yet `int()` refuses it (a 500 where both were used); Arabic-Indic or
full-width digits, " 12", "+12" and "1_2" are all 12 to `int()`. An offset of 2**63 reaches
PostgreSQL as `bigint out of range`. Every integer a request carries goes through
`parse_int` (pages, code suffixes) or one of the annotated types below (JSON API query
parameters, which ninja validates with it).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

#: The largest value of a PostgreSQL bigint (ids, cursors).
MAX_BIGINT = 2**63 - 1
#: The deepest offset of a list page. No list here holds a billion rows; a deeper page is
#: refused (422) instead of overflowing the database's OFFSET.
MAX_OFFSET = 10**9
#: Digits a bigint needs at most; anything longer is refused before `int()` sees it.
_MAX_DIGITS = len(str(MAX_BIGINT))


def parse_int(raw: str | None, *, minimum: int = 0, maximum: int = MAX_BIGINT) -> int | None:
    """The number `raw` spells in ASCII digits only (no sign, space or underscore), if it lies
    in [minimum, maximum]; None for anything else, absence included."""
    if raw is None or not 0 < len(raw) <= _MAX_DIGITS or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


def _strict(value: object) -> object:
    """For pydantic: a query string must be ASCII digits; an int (a default) passes as is.

    Only the spelling is checked here (up to bigint's 19 digits): each parameter keeps its own
    bounds and error (a limit clamped, a cursor refused with `invalid_page`), and the ORM's
    lookups already answer "nothing" for an id beyond bigint. Only OFFSET overflows in the
    database, hence `Offset`."""
    if isinstance(value, str):
        number = parse_int(value, maximum=10**_MAX_DIGITS)
        if number is None:
            raise ValueError("must be a whole number written in the digits 0-9")
        return number
    return value


#: A non-negative integer query parameter (a limit, an id cursor), spelled in ASCII digits.
QueryInt = Annotated[int, BeforeValidator(_strict), Field(ge=0)]
#: The offset of a list page: at most MAX_OFFSET (422 `invalid_input` beyond).
Offset = Annotated[int, BeforeValidator(_strict), Field(ge=0, le=MAX_OFFSET)]
