"""A third-party token issuer for the daemon tests, on Debian's PyJWT.

  jwt_issuer.py key PEM_OUT KID       -> writes a new ES256 private key to PEM_OUT,
                                         prints its public JWK (with kid and alg)
  jwt_issuer.py sign PEM KID CLAIMS   -> prints a token of CLAIMS (a JSON object)
                                         signed with PEM; exp 10 minutes from now unless given
"""
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm


def key(pem_out, kid):
    private = ec.generate_private_key(ec.SECP256R1())
    with open(pem_out, "wb") as f:
        f.write(private.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    public = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    public["kid"] = kid
    public["alg"] = "ES256"
    print(json.dumps(public))


def sign(pem, kid, claims_text):
    with open(pem, "rb") as f:
        private = serialization.load_pem_private_key(f.read(), password=None)
    claims = json.loads(claims_text)
    claims.setdefault("exp", int(time.time()) + 600)
    print(jwt.encode(claims, private, algorithm="ES256", headers={"kid": kid}))


if __name__ == "__main__":
    if sys.argv[1] == "key":
        key(sys.argv[2], sys.argv[3])
    else:
        sign(sys.argv[2], sys.argv[3], sys.argv[4])
