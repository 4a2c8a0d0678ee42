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

"""Cinder's own Swift backup driver in this process, without a running
Cinder (the set-up of tests/cinder_posix.py plus the driver's Swift
options): for the Swift backup benchmark's anchor.  Call ``setup`` once
per process."""

from tests import cinder_posix

create_volume = cinder_posix.create_volume
create_backup = cinder_posix.create_backup


def setup(db_path, auth_url, user, key, container, **overrides):
    """(admin context, cinder's CONF) with the database at ``db_path`` and
    the driver writing to ``container`` of the Swift at ``auth_url``
    (tempauth v1, one user for every project: single_user)."""
    from cinder.backup.drivers import swift  # noqa: F401 (its options)
    options = dict(backup_swift_auth='single_user',
                   backup_swift_auth_url=auth_url,
                   backup_swift_auth_version='1', backup_swift_user=user,
                   backup_swift_key=key, backup_swift_container=container,
                   backup_swift_enable_progress_timer=False)
    options.update(overrides)
    # the posix path is unused by the Swift driver
    return cinder_posix.setup(db_path, '/nonexistent', **options)


def driver(ctxt):
    """The driver, connected (cinder-backup's manager calls
    ``initialize`` too)."""
    from cinder.backup.drivers import swift
    backup_driver = swift.SwiftBackupDriver(ctxt)
    backup_driver.initialize()
    return backup_driver
