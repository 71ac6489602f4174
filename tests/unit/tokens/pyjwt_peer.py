"""The other JWT implementation of the interop tests: Debian's PyJWT.

  pyjwt_peer.py verify ALG TOKEN JWK   -> prints the verified claims as JSON
  pyjwt_peer.py sign ALG [SECRET]      -> prints {"token": ..., "jwk": <public JWK, or the
                                          HS256 secret as an oct JWK>}
"""
import base64
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


def verify(alg, token, jwk_text):
    key = jwt.PyJWK(json.loads(jwk_text), alg).key
    claims = jwt.decode(token, key, algorithms=[alg], issuer="pb", options={"verify_aud": False})
    print(json.dumps(claims))


def sign(alg, secret=None):
    now = int(time.time())
    claims = {"iss": "peer", "sub": "from-python", "iat": now, "exp": now + 600, "jti": "py-jti-1"}
    if alg == "HS256":
        token = jwt.encode(claims, secret.encode(), algorithm=alg, headers={"kid": "py-HS256"})
        k = base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode()
        print(json.dumps({"token": token, "jwk": {"kty": "oct", "k": k, "kid": "py-HS256"}}))
        return
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        public = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        public = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    public["kid"] = "py-" + alg
    token = jwt.encode(claims, private, algorithm=alg, headers={"kid": public["kid"]})
    print(json.dumps({"token": token, "jwk": public}))


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sign(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
