# Copyright 2026 cinder-ext developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

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
