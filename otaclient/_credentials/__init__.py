"""Credentials: static keys, the providers of temporary ones, and the default chain.

CredentialsProvider         the interface: get_credentials(), refresh(rejected)
├── Credentials             static keys (a value that is its own provider)
├── CachedProvider          the refresh rules around any async fetch
│   ├── RamRoleArnProvider      STS AssumeRole, signed with a source provider's keys
│   ├── OIDCRoleProvider        STS AssumeRoleWithOIDC (RRSA), token file re-read
│   ├── EcsRamRoleProvider      the ECS metadata service (IMDSv2, then IMDSv1)
│   └── CredentialsURIProvider  ALIBABA_CLOUD_CREDENTIALS_URI
└── DefaultCredentialsChain env, RRSA, CLI profile, credentials.ini, ECS role, URI
"""

from ._cache import CachedProvider, RefreshPolicy
from ._chain import DefaultCredentialsChain
from ._ecs import EcsRamRoleProvider
from ._model import Credentials, CredentialsProvider, same_keys
from ._sts import OIDCRoleProvider, RamRoleArnProvider
from ._uri import CredentialsURIProvider

__all__ = [
    "CachedProvider",
    "Credentials",
    "CredentialsProvider",
    "CredentialsURIProvider",
    "DefaultCredentialsChain",
    "EcsRamRoleProvider",
    "OIDCRoleProvider",
    "RamRoleArnProvider",
    "RefreshPolicy",
    "same_keys",
]
