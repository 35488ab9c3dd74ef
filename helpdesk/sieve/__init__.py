"""The generated per-mailbox Sieve script: its size budget and each part's share, its id, and
the quoting every part uses. The parts themselves (the spam ladder and sender lists today)
are written by their capability's package, which imports this one.

May import: nothing but the top-level helpers
"""
