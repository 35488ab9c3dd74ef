"""Mailbox passwords: policy and hashing, strength, passphrases, spelling alphabets, the reset,
forced-change campaigns.

May import: helpdesk.mailcenter
"""
