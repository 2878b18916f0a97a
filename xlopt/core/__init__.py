"""The lab's core: expressions, rules, sheet definitions, the engine, the buttons and the state file.

Imports nothing from the rest of xlopt (writers, live back ends, CLI) and nothing outside the
standard library, so torch_side and any back end can build on it.
"""
