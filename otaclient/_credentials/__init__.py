"""Credentials: static keys, the provider interface, and the refresh rules.

CredentialsProvider         the interface: get_credentials(), refresh(rejected)
├── Credentials             static keys (a value that is its own provider)
└── CachedProvider          the refresh rules around any async fetch
"""

from ._cache import CachedProvider, RefreshPolicy
from ._model import Credentials, CredentialsProvider

__all__ = [
    "CachedProvider",
    "Credentials",
    "CredentialsProvider",
    "RefreshPolicy",
]
