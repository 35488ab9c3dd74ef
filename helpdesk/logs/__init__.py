"""Log file access shared by every log reader: globs, rotation, compressed files, permission
messages, refusing what is not a regular file, time parsing, masking credentials.

May import: nothing but the top-level helpers
"""
