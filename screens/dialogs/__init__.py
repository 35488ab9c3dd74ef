"""Modal dialogs shared by the screens: the ticket dialog every write goes through (and the
release dialog built on it), a one-line prompt, a long text shown in full, the quit question.
Each carries its own DEFAULT_CSS."""
