"""Tempest plugin for cinder-ext (imports tempest only, never cinder)."""
