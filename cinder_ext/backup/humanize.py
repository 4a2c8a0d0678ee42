"""Sizes for people, and sizes from people."""

import re

from cinder_ext.backup import exception

_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
_PARSE = re.compile(r'^\s*(\d+)\s*([kmgtp]?)(i?b?)\s*$', re.I)


def size(n):
    """1536 -> '1.5 KiB'."""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return ('%d %s' % (value, unit) if unit == 'B'
                    else '%.1f %s' % (value, unit))
        value /= 1024


def parse_size(text):
    """'4M', '4MiB', '65536' -> bytes (binary units)."""
    match = _PARSE.match(text)
    if not match:
        raise exception.InvalidArgument(reason='not a size: %r' % text)
    number, prefix = int(match.group(1)), match.group(2).lower()
    return number * 1024 ** ('_kmgtp'.index(prefix) if prefix else 0)
