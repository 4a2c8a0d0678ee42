"""cinder-ext backup engine: chunked, deduplicated, sparse backups.

Front ends (the ``cinder-ext-backup`` command line, the Cinder backup
driver) sit on :class:`cinder_ext.backup.engine.BackupEngine`.  The on-disk
format is described in doc/backup-format.rst.
"""
