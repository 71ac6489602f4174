"""An upstream behind the gate, verifying pb's identity token as any service
would: Debian's PyJWT, pb's JWKS fetched over HTTP, the signature, the issuer,
the audience and the expiry all required.

  identity_verify.py JWKS_URL ISSUER AUDIENCE < TOKEN
    -> prints {"header": …, "claims": …} and exits 0, or the refusal on
       stderr and exits 1
"""
import json
import sys

import jwt


def main():
    jwks_url, issuer, audience = sys.argv[1:4]
    token = sys.stdin.read().strip()
    try:
        key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["ES256", "ES384", "EdDSA", "RS256", "RS384", "RS512", "PS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as e:
        print(f"refused: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"header": jwt.get_unverified_header(token), "claims": claims}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
