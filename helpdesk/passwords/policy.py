"""Mailbox passwords: the `[passwords]` settings, the policy, hashing, verifying.

A hash written here must work for Dovecot and, with SHA512-CRYPT, for Exim's `crypteq`
(docs/passwords.md). The cleartext only ever passes through: it is never logged, never put
in an audit row or an exception message; a generated one is returned to the caller once.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from helpdesk.errors import ConfigError, PolicyError
from helpdesk.i18n import M

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.mailcenter.mailboxes import Mailbox
    from helpdesk.passwords.strength import Strength

SCHEMES = ("SHA512-CRYPT", "BLF-CRYPT", "ARGON2ID")

# SHA512-CRYPT: 10x Dovecot's own 5,000, about 16 ms per login in glibc's crypt(3) (Exim's
# crypteq); passlib's 656,000 would cost about 0.23 s per IMAP/SMTP login on every connection.
# BLF-CRYPT: cost 10 (Dovecot writes 5). ARGON2ID: t=3 with 64 MiB, p=1, as Dovecot writes it.
DEFAULT_ROUNDS = {"SHA512-CRYPT": 50_000, "BLF-CRYPT": 10, "ARGON2ID": 3}
ROUNDS_RANGE = {"SHA512-CRYPT": (1_000, 999_999_999), "BLF-CRYPT": (4, 31), "ARGON2ID": (1, 100)}

# bcrypt ignores everything past 72 bytes; the others take any length, but nobody dictates
# more than this over the phone and the SQL column and SMTP AUTH lines stay bounded.
MAX_BYTES = {"SHA512-CRYPT": 256, "BLF-CRYPT": 72, "ARGON2ID": 256}

SPELLINGS = ("din5009", "din5009-2022", "nato")

_PREFIX = re.compile(r"^\{([A-Za-z0-9._-]+)\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class PasswordSettings:
    """The `[passwords]` section of helpdesk.toml; every key has a default."""

    scheme: str = "SHA512-CRYPT"
    rounds: int | None = None
    argon2_memory_kib: int = 65_536
    prefix: bool = False
    min_score: int = 3
    force_change: bool = True
    dictionaries: tuple[str, ...] = ("de",)
    dictionary_size: int = 100_000
    wordlist: str = "de"
    min_entropy_bits: float = 50.0
    allow_umlauts: bool = False
    ambiguous: str = "l1IO0"
    number_digits: int = 2
    separator: str = "-"
    spelling: str = "din5009"
    campaign_age: str = "365d"
    campaign_batch: int = 500

    @classmethod
    def from_config(cls, config: Config) -> PasswordSettings:
        where = f"{config.path or 'configuration'}: [passwords]"
        return cls.from_mapping(config.section("passwords"), where=where)

    @classmethod
    def from_mapping(
        cls, table: Mapping[str, Any], *, where: str = "[passwords]"
    ) -> PasswordSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(M("{where}: unknown key {key!r}", where=where, key=unknown[0]))
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in table:
                continue
            values[f.name] = _coerce(f.name, table[f.name], f.default, where)
        settings = cls(**values)
        settings._validate(where)
        return settings

    def _validate(self, where: str) -> None:
        if self.scheme not in SCHEMES:
            raise ConfigError(
                M(
                    "{where}: scheme must be one of {choices}",
                    where=where,
                    choices=", ".join(SCHEMES),
                )
            )
        if self.rounds is not None:
            low, high = ROUNDS_RANGE[self.scheme]
            if not low <= self.rounds <= high:
                raise ConfigError(
                    M(
                        "{where}: rounds for {scheme} must be {low}..{high}",
                        where=where,
                        scheme=self.scheme,
                        low=str(low),
                        high=str(high),
                    )
                )
        if not 0 <= self.min_score <= 4:
            raise ConfigError(M("{where}: min_score must be 0..4", where=where))
        if self.spelling not in SPELLINGS:
            raise ConfigError(
                M(
                    "{where}: spelling must be one of {choices}",
                    where=where,
                    choices=", ".join(SPELLINGS),
                )
            )
        if not 1 <= self.number_digits <= 6:
            raise ConfigError(M("{where}: number_digits must be 1..6", where=where))
        if not 1_000 <= self.dictionary_size <= 1_000_000:
            raise ConfigError(M("{where}: dictionary_size must be 1000..1000000", where=where))
        if self.min_entropy_bits < 30:
            raise ConfigError(M("{where}: min_entropy_bits must be at least 30", where=where))
        if (
            not self.separator
            or len(self.separator) > 3
            or any(c.isalnum() or c.isspace() or not c.isprintable() for c in self.separator)
        ):
            raise ConfigError(
                M("{where}: separator must be 1..3 punctuation characters", where=where)
            )
        if self.campaign_batch < 1:
            raise ConfigError(M("{where}: campaign_batch must be at least 1", where=where))
        if self.argon2_memory_kib < 8_192:
            raise ConfigError(M("{where}: argon2_memory_kib must be at least 8192", where=where))

    @property
    def effective_rounds(self) -> int:
        return self.rounds if self.rounds is not None else DEFAULT_ROUNDS[self.scheme]

    @property
    def max_bytes(self) -> int:
        return MAX_BYTES[self.scheme]


def _coerce(name: str, value: Any, default: Any, where: str) -> Any:
    if name == "dictionaries":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(
                M("{where}: dictionaries must be a list of language codes", where=where)
            )
        return tuple(v.strip() for v in value if v.strip())
    if name == "rounds":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(M("{where}: rounds must be a whole number", where=where))
        return value
    if name == "scheme":
        return str(value).upper()
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(
            M("{where}: {name} must be a {type}", where=where, name=name, type=expected.__name__)
        )
    return value


# --- hashing -------------------------------------------------------------------------------


def _handler(settings: PasswordSettings):
    from passlib.hash import argon2, bcrypt, sha512_crypt

    rounds = settings.effective_rounds
    if settings.scheme == "SHA512-CRYPT":
        return sha512_crypt.using(rounds=rounds)
    if settings.scheme == "BLF-CRYPT":
        return bcrypt.using(rounds=rounds)
    # libsodium, which Dovecot verifies with, only knows parallelism 1
    return argon2.using(
        type="ID", rounds=rounds, memory_cost=settings.argon2_memory_kib, parallelism=1
    )


def hash_password(password: str, settings: PasswordSettings) -> str:
    """The string for `mailboxes.password_hash`, with `{SCHEME}` in front if configured."""
    if len(password.encode("utf-8")) > settings.max_bytes:
        raise PolicyError(
            M("{scheme} takes at most {n} bytes", scheme=settings.scheme, n=settings.max_bytes)
        )
    try:
        hashed = _handler(settings).hash(password)
    except ValueError:
        # passlib's messages describe the input; say only what was refused
        raise PolicyError(M("{scheme} cannot hash this password", scheme=settings.scheme)) from None
    return f"{{{settings.scheme}}}{hashed}" if settings.prefix else hashed


def split_prefix(stored: str) -> tuple[str | None, str]:
    """`{SHA512-CRYPT}$6$…` -> ("SHA512-CRYPT", "$6$…"); without a prefix (None, stored)."""
    m = _PREFIX.match(stored or "")
    if not m:
        return None, stored or ""
    return m.group(1).upper(), stored[m.end() :]


def identify(stored: str) -> str | None:
    """The Dovecot scheme name of a stored hash, or None if it is not one this tool knows."""
    prefix, bare = split_prefix(stored)
    if prefix in ("PLAIN", "CLEAR", "CLEARTEXT"):
        return "PLAIN"
    if bare.startswith("$6$"):
        return "SHA512-CRYPT"
    if bare.startswith(("$2a$", "$2b$", "$2y$")):
        return "BLF-CRYPT"
    if bare.startswith("$argon2id$"):
        return "ARGON2ID"
    if bare.startswith("$argon2i$"):
        return "ARGON2I"
    if bare.startswith("$5$"):
        return "SHA256-CRYPT"
    if bare.startswith("$1$"):
        return "MD5-CRYPT"
    return None


def verify_password(password: str, stored: str) -> bool:
    """True if `password` matches the stored hash (with or without `{SCHEME}`).

    An empty or unknown hash matches nothing.
    """
    from passlib.hash import argon2, bcrypt, md5_crypt, sha256_crypt, sha512_crypt

    scheme = identify(stored)
    _, bare = split_prefix(stored)
    if scheme is None or not bare:
        return False
    if scheme == "PLAIN":
        return hmac.compare_digest(password.encode("utf-8"), bare.encode("utf-8"))
    handler = {
        "SHA512-CRYPT": sha512_crypt,
        "BLF-CRYPT": bcrypt,
        "ARGON2ID": argon2,
        "ARGON2I": argon2,
        "SHA256-CRYPT": sha256_crypt,
        "MD5-CRYPT": md5_crypt,
    }[scheme]
    if scheme == "BLF-CRYPT" and len(password.encode("utf-8")) > 72:
        return False
    try:
        return bool(handler.verify(password, bare))
    except (ValueError, TypeError):
        return False


# --- policy --------------------------------------------------------------------------------


def customer_details(mailbox: Mailbox) -> list[str]:
    """What a customer builds passwords from: address, name, domain, customer number."""
    return [
        mailbox.local_part,
        mailbox.domain,
        *mailbox.domain.split("."),
        mailbox.realname,
        mailbox.customer_ref,
    ]


def strength(
    password: str, settings: PasswordSettings, user_inputs: Iterable[str | None] = ()
) -> Strength:
    """zxcvbn's judgement with the configured dictionaries (for a live meter too)."""
    from helpdesk.passwords.strength import evaluate

    return evaluate(
        password,
        user_inputs,
        languages=settings.dictionaries,
        dictionary_size=settings.dictionary_size,
        min_score=settings.min_score,
    )


def check_password(
    password: str,
    settings: PasswordSettings,
    *,
    user_inputs: Iterable[str | None] = (),
    current_hash: str | None = None,
) -> Strength:
    """Return zxcvbn's verdict if the password may be set, else raise PolicyError (one line)."""
    if not password or not password.strip():
        raise PolicyError(M("the password is empty"))
    if _CONTROL.search(password):
        raise PolicyError(M("the password contains a control character (tab, newline, …)"))
    if password != password.strip():
        raise PolicyError(M("the password starts or ends with a space; mail clients often drop it"))
    size = len(password.encode("utf-8"))
    if size > settings.max_bytes:
        raise PolicyError(
            M(
                "the password is {size} bytes long; {scheme} takes at most {n}",
                size=str(size),
                scheme=settings.scheme,
                n=settings.max_bytes,
            )
        )
    verdict = strength(password, settings, user_inputs)
    if verdict.score < settings.min_score and verdict.common == "exact":
        raise PolicyError(M("too common: it is on the list of passwords German users choose most"))
    if verdict.score < settings.min_score and verdict.common:
        raise PolicyError(
            M(
                "too common: a password German users choose most, with only capitals, digits,"
                " a year or look-alike characters changed"
            )
        )
    if verdict.score < settings.min_score:
        raise PolicyError(
            M(
                "too weak (zxcvbn score {score} of 4, {needed} needed): {reason}",
                score=verdict.score,
                needed=settings.min_score,
                reason=verdict.reason(),
            )
        )
    if current_hash and verify_password(password, current_hash):
        raise PolicyError(M("this is the mailbox's current password; choose a new one"))
    return verdict
