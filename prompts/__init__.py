"""Prompt templates for generated answers (package data: found with importlib.resources when installed)."""
