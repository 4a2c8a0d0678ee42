"""cinder-ext: Cinder volume drivers for POSIX shares and LVM.

This package imports nothing from cinder so that the tempest plugin
(``cinder_ext.tempest``) loads in tempest's own virtualenv.
"""
