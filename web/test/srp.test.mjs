// Checks web/src/srp.ts against amazon-cognito-identity-js (a devDependency, never bundled), the
// library Cognito's own examples use: the same A, password key and signature for the same secret a,
// server B, salt, secret block and password. moto accepts any signature, so this is the test that
// would catch wrong SRP arithmetic before a real user pool does. Run by infra/dashboard's
// TestSRPMatchesReference, which bundles srp.ts and passes its path in SRP_MODULE.
import test from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { AuthenticationHelper } = require("amazon-cognito-identity-js");
const BigInteger = require("amazon-cognito-identity-js/lib/BigInteger.js").default;
const srp = await import(process.env.SRP_MODULE);

const call = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
const hex = (n) => randomBytes(n).toString("hex");

const cases = [
  { password: "Correct-Horse-9", secretBlock: randomBytes(64).toString("base64") },
  { password: "pässwörd Ünïcode 12", secretBlock: randomBytes(300).toString("base64") },
  // moto's SECRET_BLOCK is a UUID: decoded leniently, as Node's Buffer does.
  { password: "Aa1!" + hex(8), secretBlock: "4c9e1b0e-8c1f-4c55-9a3a-0a5e1c2d3f4b" },
];
for (let i = 0; i < 5; i++) cases.push({ password: "Pw" + hex(6), secretBlock: randomBytes(48).toString("base64") });

for (const [i, c] of cases.entries()) {
  test(`case ${i}`, async () => {
    const poolName = "AbCdEf123";
    const userId = "user-" + hex(4);
    const aHex = hex(128);
    const bHex = hex(384);
    const saltHex = hex(16);

    const ref = new AuthenticationHelper(poolName);
    ref.smallAValue = new BigInteger(aHex, 16);
    ref.largeAValue = undefined;
    const refA = await call((cb) => ref.getLargeAValue(cb));
    const refKey = await call((cb) =>
      ref.getPasswordAuthenticationKey(userId, c.password, new BigInteger(bHex, 16), new BigInteger(saltHex, 16), cb),
    );
    const ts = "Mon Dec 7 09:05:01 UTC 2026";
    const msg = Buffer.concat([
      Buffer.from(poolName, "utf8"),
      Buffer.from(userId, "utf8"),
      Buffer.from(c.secretBlock, "base64"),
      Buffer.from(ts, "utf8"),
    ]);
    const refSig = createHmac("sha256", refKey).update(msg).digest("base64");

    const client = new srp.Client(BigInt("0x" + aHex));
    assert.equal(client.srpA, refA.toString(16), "SRP_A");
    const key = await client.passwordKey(poolName, userId, c.password, bHex, saltHex);
    assert.equal(Buffer.from(key).toString("hex"), Buffer.from(refKey).toString("hex"), "password key");
    const sig = await client.signature(poolName, userId, c.password, { srpB: bHex, salt: saltHex, secretBlock: c.secretBlock }, ts);
    assert.equal(sig, refSig, "signature");
  });
}

test("timestamp", () => {
  assert.equal(srp.timestamp(new Date(Date.UTC(2026, 11, 7, 9, 5, 1))), "Mon Dec 7 09:05:01 UTC 2026");
  assert.equal(srp.timestamp(new Date(Date.UTC(2026, 0, 31, 23, 59, 59))), "Sat Jan 31 23:59:59 UTC 2026");
});
