"""Fault injection: bad inputs, kills, overlapping runs and unsafe files (docs/reliability.md)."""
