"""The rules DynamoDB applies to values and items, checked before any request.

One rule, one place: the marshaller, the unit of work and both backends call these functions, so
the in-memory twin refuses exactly what DynamoDB refuses (and what moto lets through).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from decimal import Decimal, InvalidOperation
from typing import Any

from . import limits
from .errors import ValidationError
from .fastjson import encoded_length


def number_text(value: Any, where: str) -> str:
    """The wire text of a number, or ValidationError saying what DynamoDB would refuse."""
    if isinstance(value, bool):
        raise ValidationError(f"{where}: a bool is not a number; store it as a bool field")
    if isinstance(value, int):
        if -(10**38) < value < 10**38:
            return str(value)
        return _decimal_text(Decimal(value), where)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValidationError(f"{where}: DynamoDB cannot store NaN or infinity ({value!r})")
        # repr gives the shortest text that round-trips, so no binary artefacts reach the item.
        return _decimal_text(Decimal(repr(value)), where)
    if isinstance(value, Decimal):
        return _decimal_text(value, where)
    raise ValidationError(f"{where}: {type(value).__name__} {value!r} is not a number")


def _decimal_text(value: Decimal, where: str) -> str:
    if not value.is_finite():
        raise ValidationError(f"{where}: DynamoDB cannot store NaN or infinity ({value})")
    if value.is_zero():
        return "0"
    digits = significant_digits(value)
    if digits > limits.MAX_NUMBER_DIGITS:
        raise ValidationError(
            f"{where}: {value} has {digits} significant digits; DynamoDB keeps at most "
            f"{limits.MAX_NUMBER_DIGITS} (round it, or store it as a string)"
        )
    magnitude = value.copy_abs()  # abs() would round to the 28-digit default context
    if magnitude < limits.MIN_NUMBER_MAGNITUDE or magnitude > limits.MAX_NUMBER_MAGNITUDE:
        raise ValidationError(
            f"{where}: {value} is outside DynamoDB's number range "
            f"(magnitude 1E-130 to 9.99...E+125)"
        )
    return str(value)


def significant_digits(value: Decimal) -> int:
    """Digits DynamoDB counts: leading and trailing zeroes trimmed."""
    _, digits, _ = value.as_tuple()
    text = "".join(map(str, digits)).strip("0")
    return max(len(text), 1)


def parse_number(text: str) -> Decimal:
    # Construction from text is exact and context-free; a context's create_decimal would round.
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the server never sends these
        raise ValidationError(f"not a DynamoDB number: {text!r}") from exc


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


# ------------------------------------------------------------------------------ text
#
# DynamoDB strings are Unicode with UTF-8 binary encoding. A Python str can hold what UTF-8
# cannot encode: a lone surrogate ("\ud800", e.g. from json.loads of a "\\ud800" escape or from
# os.fsdecode). The size rules below already encode every non-ASCII string, so the check costs
# nothing on the hot path: the UnicodeEncodeError they raise is turned into a ValidationError by
# the public functions, which then look for the offending path (only on that error path).


def check_text(text: str, where: str) -> None:
    """Refuse a string that has no UTF-8 encoding (a name, a specification value...)."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise not_utf8(where, exc) from None


def printable(text: str) -> str:
    """`text` with what UTF-8 cannot encode escaped, safe in a message, a log or a response."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def not_utf8(where: str, exc: UnicodeEncodeError, inner: str = "") -> ValidationError:
    """The ValidationError for text that cannot be encoded as UTF-8."""
    text = exc.object
    excerpt = text[:40] + "..." if len(text) > 40 else text
    return ValidationError(
        printable(
            f"{where}{inner}: {excerpt!r} is not valid Unicode text: position {exc.start} holds "
            f"a lone surrogate ({text[exc.start]!r}), which has no UTF-8 encoding; DynamoDB "
            "stores strings as UTF-8, so replace or remove it"
        )
    )


def _bad_text_path(value: Any) -> tuple[str, UnicodeEncodeError] | None:
    """Where in a wire value the first string without a UTF-8 encoding is (error path only)."""
    if not isinstance(value, Mapping):
        return None
    for tag, inner in value.items():
        if tag == "S":
            found = _encode_error(inner)
            return ("", found) if found else None
        if tag == "SS":
            for member in inner:
                found = _encode_error(member)
                if found:
                    return " (a set member)", found
        if tag == "M":
            for key, member in inner.items():
                found = _encode_error(key)
                if found:
                    return " (a map key)", found
                deeper = _bad_text_path(member)
                if deeper:
                    return f".{printable(key)}{deeper[0]}", deeper[1]
        if tag == "L":
            for i, member in enumerate(inner):
                deeper = _bad_text_path(member)
                if deeper:
                    return f"[{i}]{deeper[0]}", deeper[1]
    return None


def _encode_error(text: Any) -> UnicodeEncodeError | None:
    if isinstance(text, str) and not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return exc
    return None


def _text_error(
    where: str, name: str | None, value: Any, exc: UnicodeEncodeError
) -> ValidationError:
    """Name the attribute (and the path inside it) holding the text that is not UTF-8."""
    if name is not None:
        found = _encode_error(name)
        if found:
            return not_utf8(f"{where} (an attribute name)", found)
        where = f"{where}.{name}"
    located = _bad_text_path(value)
    if located is None:
        return not_utf8(where, exc)
    return not_utf8(where, located[1], located[0])


def _measure(value: Mapping[str, Any], depth: int, where: str) -> int:
    """Size of one value by DynamoDB's rules; refuses documents nested over 32 levels.

    One pass does both because it runs on every item of every commit (a hot path)."""
    for tag, inner in value.items():
        if tag == "S":
            return len(inner) if inner.isascii() else len(inner.encode("utf-8"))
        if tag == "N":
            if inner.isdigit():  # the common case: a non-negative integer
                return (len(inner.strip("0") or "0") + 1) // 2 + 1
            return _number_size(inner)
        if tag == "M" or tag == "L":
            if inner and depth >= limits.MAX_NESTING_DEPTH:
                raise _too_deep(where, depth)
            total = 3
            if tag == "M":
                for key in inner:
                    total += len(key) if key.isascii() else len(key.encode("utf-8"))
                if "" in inner:
                    raise _empty_map_key(where)
                inner = inner.values()
            for member in inner:
                # Strings inline: most members are, and a call per member doubles the cost.
                text = member.get("S")
                if text is not None:
                    total += 1 + (len(text) if text.isascii() else len(text.encode("utf-8")))
                    continue
                text = member.get("N")
                if text is not None:
                    if text.isdigit():
                        total += 1 + (len(text.strip("0") or "0") + 1) // 2 + 1
                    else:
                        total += 1 + _number_size(text)
                    continue
                total += 1 + _measure(member, depth + 1, where)
            return total
        if tag == "BOOL" or tag == "NULL":
            return 1
        if tag == "B":
            return len(inner)
        if tag == "SS":
            return sum(_utf8_len(m) for m in inner)
        if tag == "NS":
            return sum(_number_size(m) for m in inner)
        if tag == "BS":
            return sum(len(m) for m in inner)
        raise ValidationError(f"{where}: unknown attribute value type {tag!r}")
    raise ValidationError(f"{where}: an attribute value needs a type")


def attribute_size(value: Mapping[str, Any], where: str = "value") -> int:
    """Bytes a value counts for, by the rules in DynamoDB's 'item sizes and formats' page."""
    try:
        return _measure(value, -(10**9), where)
    except UnicodeEncodeError as exc:
        raise _text_error(where, None, value, exc) from None


def _number_size(text: str) -> int:
    # Counted on the text: building a Decimal per number dominated the cost of big commits.
    if "e" in text or "E" in text:  # rare: the library writes plain notation
        text = text.split("e")[0].split("E")[0]
    digits = len(text.replace(".", "").lstrip("+-").strip("0")) or 1
    return (digits + 1) // 2 + 1


def item_size(item: Mapping[str, Mapping[str, Any]], where: str = "item") -> int:
    size = 0
    for name, value in item.items():
        try:
            size += _utf8_len(name) + _measure(value, -(10**9), where)
        except UnicodeEncodeError as exc:
            raise _text_error(where, name, value, exc) from None
    return size


def check_item(item: Mapping[str, Mapping[str, Any]], where: str) -> int:
    """DynamoDB's item rules: at most 400 KB, documents at most 32 levels deep. Returns the size."""
    size = 0
    name = ""
    try:
        for name, value in item.items():
            size += len(name) if name.isascii() else len(name.encode("utf-8"))
            text = value.get("S")
            if text is not None:
                size += len(text) if text.isascii() else len(text.encode("utf-8"))
                continue
            text = value.get("N")
            if text is not None:
                size += _number_size(text)
            else:
                size += _measure(value, 1, where)
    except ValidationError as exc:
        raise ValidationError(str(exc).replace(where, f"{where}.{name}", 1)) from None
    except UnicodeEncodeError as exc:
        raise _text_error(where, name, item[name], exc) from None
    if size > limits.MAX_ITEM_BYTES:
        raise ValidationError(
            f"{where}: the item is {size} bytes; DynamoDB stores at most 400 KB "
            f"({limits.MAX_ITEM_BYTES} bytes) per item (move large data to S3 or split it)"
        )
    return size


def check_put_item(
    item: Mapping[str, Mapping[str, Any]], where: str, sound: AbstractSet[str] = frozenset()
) -> tuple[int, bool]:
    """`check_item` for an item written whole (a Put): the same rules and errors, returned as
    (size, exact).

    The item's compact UTF-8 JSON is an upper bound of its DynamoDB size: a string counts its
    UTF-8 bytes and its JSON text holds them all (plus quotes and escapes), a number counts at
    most half its digits plus one and its JSON text holds every digit, binary counts its bytes and
    its base64 is longer, and every name, tag and container costs more in JSON than DynamoDB
    counts for it. When a fast encoder (orjson) gives that bound in C and it is within 400 KB,
    the per-value sizes are not computed: (bound, False). The structural rules (a type tag per
    value, no empty map key, at most 32 levels) are still checked on every map and list. Without
    the fast encoder, over the bound, or when the encoder refuses the item (text with no UTF-8
    encoding, a value that is no wire value), this is `check_item`: (exact size, True).

    `sound` names attributes sound by construction (`Mapping.sound_attributes`: built by the
    library's own converters from declared types that cannot nest 32 levels nor hold a map
    key): the structural rules hold for them without a look.
    """
    bound = encoded_length(item)
    if bound is None or bound > limits.MAX_ITEM_BYTES:
        return check_item(item, where), True
    rest = item.keys() - sound
    if not rest:
        return bound, False
    name = ""
    try:
        # In the item's order (a set's is arbitrary): the first error is check_item's.
        for name in item if len(rest) > 1 else rest:
            if name not in rest:
                continue
            value = item[name]
            if "S" not in value and "N" not in value:  # as check_item and _measure decide
                _check_value(value, 1, where)
    except ValidationError as exc:
        raise ValidationError(str(exc).replace(where, f"{where}.{name}", 1)) from None
    return bound, False


def _too_deep(where: str, depth: int) -> ValidationError:
    """The error `_measure` and `_check_value` raise for a document nested below `depth`."""
    return ValidationError(
        f"{where}: nested {depth + 1} levels deep; DynamoDB allows {limits.MAX_NESTING_DEPTH}"
    )


def _empty_map_key(where: str) -> ValidationError:
    """The error `_measure` and `_check_value` raise for a map with an empty key."""
    return ValidationError(
        f"{where}: a map key is empty; DynamoDB attribute names, map keys included, are at "
        "least one character long"
    )


def _check_value(value: Mapping[str, Any], depth: int, where: str) -> None:
    """The rules `_measure` applies to a value at `depth`, without its sizes: the same checks in
    the same order, so the same first error."""
    for tag, inner in value.items():
        if tag == "M" or tag == "L":
            if not inner:
                return
            if depth >= limits.MAX_NESTING_DEPTH:
                raise _too_deep(where, depth)
            if tag == "M":
                if "" in inner:
                    raise _empty_map_key(where)
                inner = inner.values()
            for member in inner:
                if "S" not in member and "N" not in member:
                    _check_value(member, depth + 1, where)
            return
        if tag in _SCALAR_TAGS:
            return
        raise ValidationError(f"{where}: unknown attribute value type {tag!r}")
    raise ValidationError(f"{where}: an attribute value needs a type")


_SCALAR_TAGS = frozenset({"BOOL", "NULL", "B", "SS", "NS", "BS"})


def check_item_size(item: Mapping[str, Mapping[str, Any]], where: str) -> int:
    return check_item(item, where)


def check_key_value(attribute: str, value: Mapping[str, Any], *, sort: bool, where: str) -> None:
    """Key attributes must be non-empty S/N/B within DynamoDB's per-key byte limits."""
    if len(value) == 1:
        inner = value.get("S")
        # The common key: a short ASCII string. Its length is its UTF-8 size, at most 1024
        # fits both limits (sort 1024, partition 2048), and ASCII holds no lone surrogate.
        if type(inner) is str and 0 < len(inner) <= limits.MAX_SORT_KEY_BYTES and inner.isascii():
            return
    (tag, inner), *_ = value.items()
    if tag not in ("S", "N", "B"):
        raise ValidationError(
            f"{where}: key attribute {attribute!r} must be a string, number or bytes"
        )
    if tag == "N":
        return
    if tag == "S":
        try:
            size = len(inner) if inner.isascii() else len(inner.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise not_utf8(f"{where}: key attribute {attribute!r}", exc) from None
    else:
        size = len(inner)
    if size == 0:
        raise ValidationError(
            f"{where}: key attribute {attribute!r} is empty; DynamoDB refuses empty key values"
        )
    limit = limits.MAX_SORT_KEY_BYTES if sort else limits.MAX_PARTITION_KEY_BYTES
    if size > limit:
        kind = "sort" if sort else "partition"
        raise ValidationError(
            f"{where}: {kind} key attribute {attribute!r} is {size} bytes; DynamoDB allows {limit}"
        )


def check_depth(value: Mapping[str, Any], where: str, depth: int = 1) -> None:
    """Documents nest at most 32 levels (`depth` is the level `value` itself sits at)."""
    if depth > limits.MAX_NESTING_DEPTH:
        raise ValidationError(
            f"{where}: nested {depth} levels deep; DynamoDB allows {limits.MAX_NESTING_DEPTH}"
        )
    try:
        _measure(value, depth, where)
    except UnicodeEncodeError as exc:
        raise _text_error(where, None, value, exc) from None
