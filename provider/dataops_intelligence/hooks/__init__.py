"""Thin hooks over the official providers (only what they lack)."""
