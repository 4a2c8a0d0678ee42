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

"""LVM names and command lines: built here, checked here.

Every command the volume-group store runs is an argument list built by one
function below; ``check_argv`` is what the privileged entry point applies
to it before execution, so the daemon runs only these shapes of command,
only on the backend's own volume group, and only with names that obey
LVM's naming rules.
"""

import re
import uuid

from cinder_ext import exception

MAX_NAME = 127
_NAME_CHARS = re.compile(r'^[A-Za-z0-9+_.-]+$')
# lib/misc/lvm-string.c (apply_lvname_restrictions): LVM keeps these for
# its own sub-LVs; an LV named like one confuses or breaks LVM.
_RESERVED_PREFIXES = ('snapshot', 'pvmove')
_RESERVED_PARTS = ('_cdata', '_cmeta', '_corig', '_cpool', '_cvol',
                   '_iorig', '_mimage', '_mlog', '_pmspare', '_rimage',
                   '_rmeta', '_tdata', '_tmeta', '_vdata', '_vorigin',
                   '_wcorig')

_UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
# Half-made LVs: prefix, the lock key (a Cinder id), a random suffix.  LVM
# names may not start with '.', so the NFS pattern cannot be reused.
TEMP_PREFIX = 'cinder_ext-tmp-'
# An LV moved aside by a revert, still holding the volume's old data:
# prefix, the key's 32 hex digits and the name to restore it to.  No '-'
# in the fixed part: device-mapper names double each '-', and the whole
# 'VG-LV' must stay under DM_NAME_MAX.
ASIDE_PREFIX = 'cinder_ext_old_'
_TEMP_NAME = re.compile('^%s(?P<key>%s)-[0-9a-f]{8}$' % (
    re.escape(TEMP_PREFIX), _UUID))
_ASIDE_NAME = re.compile('^%s(?P<key>[0-9a-f]{32})_(?P<orig>.+)$' % (
    re.escape(ASIDE_PREFIX)))
# The kernel's limit is 127 characters; LVM adds up to '-tpool' / '-real'
# / '-cow' to an LV's dm name for its layers.  A rename past the limit
# fails half-way in LVM (a device left suspended), so it is checked first.
DM_NAME_MAX = 127 - len('-tpool')

REPORT = ('--reportformat', 'json', '--units', 'b', '--nosuffix')
LV_FIELDS = ('lv_name,lv_size,lv_attr,pool_lv,origin,data_percent,'
             'metadata_percent,lv_tags,lv_kernel_major,lv_kernel_minor,'
             'segtype,origin_size')
VG_FIELDS = ('vg_name,vg_size,vg_free,vg_extent_size,lv_count,vg_attr,'
             'vg_lock_type')


def check_name(name, kind='LV'):
    """Refuse what LVM would refuse or misread as one of its own LVs."""
    if not isinstance(name, str):
        raise exception.InvalidName(name=name, reason='not a string')
    if not 0 < len(name) <= MAX_NAME:
        raise exception.InvalidName(
            name=name, reason='%s names have 1 to %d characters'
            % (kind, MAX_NAME))
    if not _NAME_CHARS.match(name):
        raise exception.InvalidName(
            name=name, reason='%s names use only A-Z a-z 0-9 + _ . -' % kind)
    if name.startswith('-') or name in ('.', '..'):
        raise exception.InvalidName(
            name=name, reason='%s names may not start with "-" or be '
            '"." or ".."' % kind)
    if kind == 'LV':
        if name.startswith(_RESERVED_PREFIXES):
            raise exception.InvalidName(
                name=name, reason='LVM reserves names starting with %s'
                % ' or '.join(_RESERVED_PREFIXES))
        for part in _RESERVED_PARTS:
            if part in name:
                raise exception.InvalidName(
                    name=name, reason='LVM reserves %s for its internal '
                    'LVs' % part)
    return name


def check_lv(vg, name):
    """check_name, plus the length of the LV's device-mapper name."""
    check_name(name)
    if len(dm_name(vg, name)) > DM_NAME_MAX:
        raise exception.InvalidName(
            name=name, reason='its device-mapper name %s-... is longer than '
            '%d characters (each "-" counts twice)' % (vg, DM_NAME_MAX))
    return name


def temp_name(key):
    """A name that marks a half-made LV and says whose lock guards it."""
    return '%s%s-%s' % (TEMP_PREFIX, key, uuid.uuid4().hex[:8])


def aside_name(key, name):
    try:
        hexkey = uuid.UUID(key).hex
    except (TypeError, ValueError, AttributeError):
        raise exception.InvalidName(name=key, reason='lock keys are UUIDs')
    return check_name('%s%s_%s' % (ASIDE_PREFIX, hexkey, name))


def temp_key(name):
    """(key, name to restore or None) of a temporary LV name, or None."""
    if not isinstance(name, str):
        return None
    match = _TEMP_NAME.match(name)
    if match:
        return match.group('key'), None
    match = _ASIDE_NAME.match(name)
    if match:
        return str(uuid.UUID(match.group('key'))), match.group('orig')
    return None


def is_temporary(name):
    return isinstance(name, str) and name.startswith((TEMP_PREFIX,
                                                      ASIDE_PREFIX))


def dm_name(vg, lv, layer=None):
    """The device-mapper name of an LV ('-' doubled inside names)."""
    parts = [vg.replace('-', '--'), lv.replace('-', '--')]
    if layer:
        parts.append(layer)
    return '-'.join(parts)


def device(vg, lv):
    return '/dev/%s/%s' % (vg, lv)


def _size(nbytes):
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or \
            nbytes <= 0:
        raise exception.InvalidName(name=nbytes, reason='not a size in '
                                    'bytes')
    return '%db' % nbytes


# Builders.  Each returns one command line; the costs are those of the
# command, in LVM metadata updates and bytes written.

def lvs(vg, *names):
    # One metadata read: the whole VG (O(LVs)) or the LVs named.
    targets = ['%s/%s' % (vg, name) for name in names] or [vg]
    return ['lvs'] + list(REPORT) + ['-o', LV_FIELDS] + targets


def vgs(vg):
    return ['vgs'] + list(REPORT) + ['-o', VG_FIELDS, vg]


def create_thin(vg, pool, name, size):
    # O(1): a thin LV maps nothing until written; unmapped blocks read 0.
    return ['lvcreate', '--yes', '-T', '%s/%s' % (vg, pool), '-V',
            _size(size), '-n', name]


def create_thick(vg, name, size):
    # O(1) but for -Zy (zeroes the first 4 KiB so no old signature shows)
    return ['lvcreate', '--yes', '-W', 'y', '-Z', 'y', '-L', _size(size),
            '-n', name, vg]


def snapshot_thin(vg, origin, name, active=False):
    # O(1): a thin snapshot shares every block with its origin.  Made with
    # the activation-skip flag off and active when it is a volume (clone),
    # left skipped (inactive, no dm device) when it is a Cinder snapshot.
    argv = ['lvcreate', '--yes', '-s', '-n', name]
    if active:
        argv += ['--setactivationskip', 'n', '--activate', 'y']
    return argv + ['%s/%s' % (vg, origin)]


def snapshot_cow(vg, origin, name, size):
    # O(1) to create; reserves ``size`` and then copies each origin chunk
    # on its first overwrite.
    return ['lvcreate', '--yes', '-s', '-L', _size(size), '-n', name,
            '%s/%s' % (vg, origin)]


def remove(vg, name):
    # O(1) metadata update (thin: frees the mappings; thick: the extents).
    return ['lvremove', '--yes', '-f', '%s/%s' % (vg, name)]


def extend(vg, name, size):
    return ['lvextend', '-L', _size(size), '%s/%s' % (vg, name)]


def rename(vg, old, new):
    # O(1); fails if ``new`` exists: lvrename never clobbers.
    return ['lvrename', vg, old, new]


def activate(vg, name, exclusive=False):
    # -K: a thin snapshot has the activation-skip flag; -aey: the only
    # activation a shared (lvmlockd) VG allows for a writer.
    return ['lvchange', '--activate', 'ey' if exclusive else 'y', '-K',
            '%s/%s' % (vg, name)]


def deactivate(vg, name):
    return ['lvchange', '--activate', 'n', '%s/%s' % (vg, name)]


def merge(vg, snapshot):
    # O(chunks changed since the snapshot): copies them back to the origin.
    return ['lvconvert', '--merge', '%s/%s' % (vg, snapshot)]


def zero(path, force=False):
    # BLKZEROOUT: WRITE ZEROES offloaded where the device has it (O(1) on
    # thin-provisioned storage, loop files, most NVMe), else the kernel
    # writes zero pages: O(size).  force: no O_EXCL open (a COW store is
    # held open by its snapshot's mapping).
    return ['blkdiscard'] + (['-f'] if force else []) + ['-z', path]


def discard(path, force=False):
    # O(1)-ish: the device unmaps; what it reads afterwards is its own.
    return ['blkdiscard'] + (['-f'] if force else []) + [path]


def copy(src, dst, sparse):
    # O(size) read; with sparse, O(data) written: all-zero 1 MiB blocks are
    # skipped by a seek (correct only on a target that reads zero).
    conv = 'sparse,fsync' if sparse else 'fsync'
    return ['dd', 'if=%s' % src, 'of=%s' % dst, 'bs=1M', 'iflag=direct',
            'oflag=direct', 'conv=%s' % conv, 'status=none']


def queue_limit(major, minor, limit):
    return ['cat', '/sys/dev/block/%d:%d/queue/%s' % (major, minor, limit)]


# Validation of a finished command line (the privileged side).

_SIZE_ARG = re.compile(r'^[1-9][0-9]{0,19}b$')
_FIELDS_ARG = re.compile(r'^[a-z_]+(,[a-z_]+)*$')
_SYSFS = re.compile(r'^/sys/dev/block/[0-9]{1,4}:[0-9]{1,7}/queue/'
                    r'(write_zeroes_max_bytes|discard_max_bytes)$')
_DM = re.compile(r'^/dev/mapper/((?:[^-]|--)+)-((?:[^-]|--)+)-cow$')

# option -> kind of its value (None: a flag); positionals in order.
_REPORT_OPTS = {'--reportformat': ('json',), '--units': ('b',),
                '--nosuffix': None, '-o': 'fields'}
_SPECS = {
    'lvs': (_REPORT_OPTS, ['vg|vglv', 'vglv*']),
    'vgs': (_REPORT_OPTS, ['vg']),
    'lvcreate': ({'--yes': None, '-T': 'vglv', '-V': 'size', '-L': 'size',
                  '-n': 'lv', '-s': None, '-W': ('y', 'n'),
                  '-Z': ('y', 'n'), '--setactivationskip': ('y', 'n'),
                  '--activate': ('y', 'ey', 'n')},
                 ['vg|vglv?']),
    'lvremove': ({'--yes': None, '-f': None}, ['vglv']),
    'lvextend': ({'-L': 'size'}, ['vglv']),
    'lvrename': ({}, ['vg', 'lv', 'lv']),
    'lvchange': ({'--activate': ('y', 'ey', 'n'), '-K': None}, ['vglv']),
    'lvconvert': ({'--merge': None}, ['vglv']),
    'blkdiscard': ({'-z': None, '-f': None}, ['dev']),
}


def _refuse(argv, reason):
    raise exception.InvalidName(name=' '.join(map(str, argv)),
                                reason='refused command: %s' % reason)


def _check_value(argv, vg, kind, value):
    if isinstance(kind, tuple):
        ok = value in kind
    elif kind == 'size':
        ok = bool(_SIZE_ARG.match(value))
    elif kind == 'fields':
        ok = bool(_FIELDS_ARG.match(value))
    elif kind == 'vg':
        ok = value == vg
    elif kind == 'lv':
        ok = bool(check_lv(vg, value))
    elif kind == 'vglv':
        head, sep, tail = value.partition('/')
        ok = bool(sep) and head == vg and bool(check_lv(vg, tail))
    elif kind == 'dev':
        ok = _is_device(vg, value)
    else:
        ok = False
    if not ok:
        _refuse(argv, '%r is not a valid %s here' % (value, kind))


def _is_device(vg, path):
    if path.startswith('/dev/mapper/'):
        match = _DM.match(path)
        if not match:
            return False
        vg_part, lv_part = (g.replace('--', '-') for g in match.groups())
        return vg_part == vg and bool(check_lv(vg, lv_part))
    parts = path.split('/')
    return (len(parts) == 4 and parts[:3] == ['', 'dev', vg] and
            bool(check_lv(vg, parts[3])))


def _check_dd(argv, vg):
    seen = set()
    for arg in argv[1:]:
        key, sep, value = arg.partition('=')
        if not sep or key in seen:
            _refuse(argv, 'dd takes key=value operands, each once')
        seen.add(key)
        if key in ('if', 'of'):
            if not _is_device(vg, value):
                _refuse(argv, '%r is not an LV of %s' % (value, vg))
        elif (key, value) not in {('bs', '1M'), ('iflag', 'direct'),
                                  ('oflag', 'direct'), ('status', 'none'),
                                  ('conv', 'fsync'),
                                  ('conv', 'sparse,fsync')}:
            _refuse(argv, 'dd operand %r' % arg)
    if not {'if', 'of'} <= seen:
        _refuse(argv, 'dd needs if= and of=')


def check_argv(vg, argv):
    """Refuse any command line the builders above do not make."""
    if not isinstance(argv, (list, tuple)) or not argv or \
            not all(isinstance(a, str) for a in argv):
        _refuse(argv or [], 'not a list of strings')
    check_name(vg, 'VG')
    binary = argv[0]
    if binary == 'dd':
        return _check_dd(argv, vg)
    if binary == 'cat':
        if len(argv) != 2 or not _SYSFS.match(argv[1]):
            _refuse(argv, 'cat reads only a queue limit in sysfs')
        return
    if binary not in _SPECS:
        _refuse(argv, '%r is not an allowed command' % binary)
    options, positionals = _SPECS[binary]
    rest = list(positionals)
    args = iter(argv[1:])
    for arg in args:
        if arg.startswith('-'):
            if arg not in options:
                _refuse(argv, 'option %r' % arg)
            kind = options[arg]
            if kind is not None:
                value = next(args, None)
                if value is None:
                    _refuse(argv, 'option %r needs a value' % arg)
                _check_value(argv, vg, kind, value)
            continue
        if not rest:
            _refuse(argv, 'unexpected argument %r' % arg)
        kind = rest[0]  # '*': any number, '?': optional
        if not kind.endswith('*'):
            rest.pop(0)
        _check_alternatives(argv, vg, kind.rstrip('*?').split('|'), arg)
    if [kind for kind in rest if not kind.endswith(('*', '?'))]:
        _refuse(argv, 'missing arguments')


def _check_alternatives(argv, vg, kinds, arg):
    errors = []
    for kind in kinds:
        try:
            return _check_value(argv, vg, kind, arg)
        except exception.InvalidName as exc:
            errors.append(exc)
    raise errors[-1]
