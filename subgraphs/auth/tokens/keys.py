"""The auth service's signing keys (EC P-256, ES256) and their public JWKS.

Several keys can be held at once: the first signs, all are published, so a new
key can be introduced before the old one stops being trusted (see the
deployment guide on rotation).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

_PEM_BLOCK = "-----END PRIVATE KEY-----"


class KeyRing:
    def __init__(self, private_keys: list[ec.EllipticCurvePrivateKey], *, generated: bool = False) -> None:
        if not private_keys:
            raise ValueError("at least one signing key is required")
        for key in private_keys:
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise ValueError("signing keys must be EC P-256 (ES256)")
        self.signing_key = private_keys[0]
        self.signing_kid = thumbprint(self.signing_key.public_key())
        self.public_keys = {thumbprint(key.public_key()): key.public_key() for key in private_keys}
        # True when the keys were made by this process's first start: refused in production.
        self.generated = generated

    def jwks(self) -> dict:
        keys = []
        for kid, public_key in self.public_keys.items():
            jwk = json.loads(ECAlgorithm.to_jwk(public_key))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "ES256"})
        return {"keys": keys}

    @classmethod
    def from_pem_text(cls, text: str) -> KeyRing:
        blocks = [block + _PEM_BLOCK for block in text.split(_PEM_BLOCK) if block.strip()]
        return cls([_load_private(block.encode()) for block in blocks])

    @classmethod
    def from_directory(cls, directory: Path) -> KeyRing:
        """Keys stored as `*.pem`; the newest name signs. Generates one when there is none."""
        directory.mkdir(parents=True, exist_ok=True)
        files = sorted(directory.glob("*.pem"), reverse=True)
        if files:
            return cls([_load_private(path.read_bytes()) for path in files])
        key = ec.generate_private_key(ec.SECP256R1())
        path = directory / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem(key))
        return cls([key], generated=True)


def private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_private(data: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("signing keys must be EC P-256 (ES256)")
    return key


def thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint: a `kid` that names the key itself."""
    jwk = json.loads(ECAlgorithm.to_jwk(public_key))
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
