"""Operators that run the monitoring stages on the configured compute target."""
