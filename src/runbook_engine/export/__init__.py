"""Exports: a guide's engine steps written for another tool, from the actions' ``desired()`` data.

``steps`` computes, for a guide and an inventory, each engine step's targets with their desired
state and the facts the engine would read there (nothing runs); each exporter (``ansible``)
turns that into the other tool's files. Exporters sit above the engine: they read its data and
never change it.
"""
