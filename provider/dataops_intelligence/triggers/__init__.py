"""Triggers of DataOps Intelligence (thin subclasses of the official ones)."""
