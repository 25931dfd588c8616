"""Training newsbot's reader (issue #26): the data it learns from, built from ../shared/data/train.

Nothing here is imported at run time; newsbot answers without this folder.
"""
