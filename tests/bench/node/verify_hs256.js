// HS256 verify of a token like pb's bench token, with node's two common JWT
// libraries: jsonwebtoken (given a KeyObject secret, its fastest form) and jose.
// Prints one line per library: "<name> <verifies per second>".
const crypto = require("crypto");
const jsonwebtoken = require("jsonwebtoken");

const secret = Buffer.alloc(32, "s");
const key = crypto.createSecretKey(secret);
const now = Math.floor(Date.now() / 1000);
const claims = {
  iss: "pb", sub: "user-1234567890", aud: "api.example.com", role: "admin",
  permissions: ["keys:read", "states:write", "bans:read"], iat: now, exp: now + 900,
  jti: "abcdefghijklmnopqrstuv", token_use: "access",
};
const token = jsonwebtoken.sign(claims, secret, { algorithm: "HS256", keyid: "config", noTimestamp: true });

function rate(seconds, fn) {
  const end = process.hrtime.bigint() + BigInt(seconds * 1e9);
  let n = 0;
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 1000; ++i) fn();
    n += 1000;
  }
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function main() {
  const options = { algorithms: ["HS256"], audience: "api.example.com", issuer: "pb" };
  rate(0.5, () => jsonwebtoken.verify(token, key, options));  // warm up the JIT
  console.log(`jsonwebtoken ${Math.round(rate(3, () => jsonwebtoken.verify(token, key, options)))} ${token.length}`);

  const jose = await import("jose");
  const deadline = process.hrtime.bigint() + 3n * 1000000000n;
  let n = 0;
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() < deadline) {
    await jose.jwtVerify(token, secret, options);
    ++n;
  }
  console.log(`jose ${Math.round(n / (Number(process.hrtime.bigint() - start) / 1e9))} ${token.length}`);
}
main();
