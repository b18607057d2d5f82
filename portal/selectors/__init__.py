"""Reads: queries scoped through the policy module, named <entity>_<what>."""
