"""Mailbox passwords: policy and hashing, strength, the passwords German users choose most
(common.py, data/), passphrases, spelling alphabets, the reset, forced-change campaigns.

May import: helpdesk.mailcenter
"""
