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

"""Errors of the backup engine, one root class with message templates."""

from cinder_ext import exception


class BackupError(exception.CinderExtException):
    """Root of every backup engine error."""

    message = 'Backup engine error.'
    exit_code = 1


class NotARepository(BackupError):
    message = '%(path)s is not a cinder-ext backup repository: %(reason)s'


class RepositoryExists(BackupError):
    message = '%(path)s already holds a repository or other files.'


class UnsupportedFormat(BackupError):
    message = '%(what)s has format %(found)r; this version reads %(expected)r.'


class KeyRequired(BackupError):
    message = ('Repository %(path)s is encrypted: give its key '
               '(--key-file or --passphrase-file).')


class WrongKey(BackupError):
    message = 'The key given does not open repository %(path)s.'


class BackupNotFound(BackupError):
    message = 'Backup %(backup_id)s does not exist in %(path)s.'


class BackupExists(BackupError):
    message = 'Backup %(backup_id)s already exists in %(path)s.'


class ParentNotFound(BackupError):
    message = ('No parent for an incremental backup of volume '
               '%(volume_id)s: %(reason)s')


class HasDependents(BackupError):
    message = ('Backup %(backup_id)s has incremental backups that need it: '
               '%(dependents)s.')


class ChunkMissing(BackupError):
    message = ('Backup %(backup_id)s: chunk %(chunk_id)s at volume offset '
               '%(offset)d is missing.')
    exit_code = 3


class ChunkCorrupt(BackupError):
    message = ('Backup %(backup_id)s: chunk %(chunk_id)s at volume offset '
               '%(offset)d is corrupt: %(reason)s')
    exit_code = 3


class ManifestCorrupt(BackupError):
    message = 'Manifest of backup %(backup_id)s is unreadable: %(reason)s'
    exit_code = 3


class RepositoryFull(BackupError):
    message = ('No space left in repository %(path)s while writing '
               '%(name)s; the backup was not recorded.')


class RepositoryBusy(BackupError):
    message = ('Repository %(path)s is busy (%(holder)s); timed out after '
               '%(timeout)s s.')
    exit_code = 4


class TargetTooSmall(BackupError):
    message = ('Restore target %(target)s holds %(target_size)d bytes; '
               'backup %(backup_id)s needs %(size)d.')


class SourceError(BackupError):
    message = 'Cannot read source %(source)s: %(reason)s'


class InvalidArgument(BackupError):
    message = '%(reason)s'
    exit_code = 2


# -- reading backups written by Cinder's posix/NFS driver ------------------
class CinderBackupNotFound(BackupError):
    message = 'No Cinder backup found for %(spec)r: %(reason)s'


class CinderMetadataCorrupt(BackupError):
    message = 'Cinder backup metadata %(path)s is unusable: %(reason)s'
    exit_code = 3


class CinderSha256ListCorrupt(BackupError):
    message = 'Cinder sha256 list %(path)s is unusable: %(reason)s'
    exit_code = 3


class CinderParentMissing(BackupError):
    message = ('Cinder backup %(backup_id)s is an incremental of '
               '%(parent_id)s, whose _metadata is not in %(searched)s; name '
               'it (and its own parents) before %(backup_id)s.')
    exit_code = 3


class CinderObjectMissing(BackupError):
    message = ('Cinder backup %(backup_id)s: object %(object)s (volume '
               'offset %(offset)d) is missing: %(path)s')
    exit_code = 3


class CinderObjectCorrupt(BackupError):
    message = ('Cinder backup %(backup_id)s: object %(object)s is corrupt '
               'at volume offset %(offset)d: %(reason)s')
    exit_code = 3


class CinderBlockMismatch(BackupError):
    message = ('Cinder backup %(backup_id)s: object %(object)s: the block at '
               'volume offset %(offset)d does not match the sha256 list of '
               'backup %(list_backup_id)s (the object or that list is '
               'corrupt).')
    exit_code = 3


class CinderImageMismatch(BackupError):
    message = ('%(image)s: the block at volume offset %(offset)d does not '
               'match the sha256 list of Cinder backup %(list_backup_id)s '
               '(it comes from backup %(backup_id)s object %(object)s).')
    exit_code = 3


class RecordInvalid(BackupError):
    message = 'Invalid Cinder backup record: %(reason)s'
    exit_code = 2


class RecordsFileInvalid(BackupError):
    message = 'Records file %(path)s is unusable: %(reason)s'
    exit_code = 2


class CloudRequestFailed(BackupError):
    message = 'Cinder API: %(what)s failed: %(reason)s'


# -- writing backups in Cinder's posix/NFS format, records ----------------
class CinderRecordInvalid(BackupError):
    message = 'Not a usable Cinder backup record: %(reason)s'
    exit_code = 2


class CinderExportExists(BackupError):
    message = ('%(path)s already holds files of backup %(backup_id)s; not '
               'overwritten.')


# -- file-level archives (cinder_ext.backup.archive) -------------------------
class ArchiveError(BackupError):
    message = 'Archive of %(source)s failed: %(reason)s'


class SnapshotImpossible(ArchiveError):
    message = ('%(source)s cannot be copied in an instant (%(reason)s); '
               'archive a Cinder snapshot of it, or give --no-snapshot if '
               'nothing uses it.')
    exit_code = 2


class MappingFailed(ArchiveError):
    message = 'Cannot map %(source)s to a read-only device: %(reason)s'


class PartitionTableDamaged(ArchiveError):
    message = '%(source)s: the partition table is damaged: %(reason)s'
    exit_code = 3


class UnknownFilesystem(ArchiveError):
    message = ('%(source)s: %(where)s holds %(found)s, which cannot be '
               'archived (known: %(known)s); --skip-unknown skips it.')
    exit_code = 3


class MountFailed(ArchiveError):
    message = ('Cannot mount %(where)s of %(source)s (%(fstype)s) '
               'read-only with %(options)s: %(reason)s')
    exit_code = 3


class TarFailed(ArchiveError):
    message = 'tar of %(where)s of %(source)s failed: %(reason)s'


class ArchiveOutputFailed(ArchiveError):
    message = 'Cannot write %(name)s in %(path)s: %(reason)s'


class ArchiveCleanupFailed(ArchiveError):
    message = ('Cleanup after the archive of %(source)s left %(what)s '
               'behind: %(reason)s')
