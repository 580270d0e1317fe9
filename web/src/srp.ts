// Cognito's Secure Remote Password (USER_SRP_AUTH) in the browser, with WebCrypto and BigInt: the
// password never leaves the page, only a proof that the page knows it. The steps and encodings are
// those of amazon-cognito-identity-js's AuthenticationHelper, which web/test/srp.test.mjs checks
// this against with fixed values (moto, under make dev, accepts any proof, so only that test can
// tell a wrong one).

// RFC 5054's 3072-bit group, as Cognito uses it, with g = 2.
const N = BigInt(
  "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C" +
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);
const g = 2n;

const enc = new TextEncoder();

/** mod returns x mod m in [0, m), for negative x too. */
function mod(x: bigint, m: bigint): bigint {
  const r = x % m;
  return r < 0n ? r + m : r;
}

/** modPow returns base^exp mod m by square-and-multiply. */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  base = mod(base, m);
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % m;
    base = (base * base) % m;
    exp >>= 1n;
  }
  return result;
}

/** padHex is the even-length hex of a non-negative n, with "00" before it when its top bit is set
 * (Java's BigInteger.toByteArray, which Cognito hashes). */
export function padHex(n: bigint): string {
  let h = n.toString(16);
  if (h.length % 2) h = "0" + h;
  if (/^[89a-f]/i.test(h)) h = "00" + h;
  return h;
}

export function hexToBytes(h: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bytesToHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function sha256(b: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", b));
}

async function hmac(key: Uint8Array<ArrayBuffer>, msg: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, msg));
}

async function hexHash(hex: string): Promise<string> {
  return bytesToHex(await sha256(hexToBytes(hex)));
}

/** b64decode decodes base64 leniently as Node's Buffer (and so the reference library) does:
 * the URL-safe "-" and "_" count as "+" and "/", other characters are skipped. moto's SECRET_BLOCK
 * is a UUID, not base64. */
export function b64decode(s: string): Uint8Array<ArrayBuffer> {
  const clean = s.replace(/-/g, "+").replace(/_/g, "/").replace(/[^A-Za-z0-9+/]/g, "");
  const padded = clean.length % 4 === 1 ? clean.slice(0, -1) : clean;
  const bin = atob(padded + "===".slice((padded.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function b64encode(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

const weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** timestamp is the TIMESTAMP Cognito wants: "Mon Dec 7 09:05:01 UTC 2026" (day not padded). */
export function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${weekdays[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${d.getUTCDate()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`
  );
}

/** Client is one SRP exchange: a secret a, its public A, then the proof for the server's answer. */
export class Client {
  readonly a: bigint;
  readonly A: bigint;

  /** a is random unless given (tests). */
  constructor(a?: bigint) {
    if (a === undefined) {
      const r = crypto.getRandomValues(new Uint8Array(128));
      a = mod(BigInt("0x" + bytesToHex(r)), N);
    }
    this.a = a;
    this.A = modPow(g, a, N);
    if (this.A === 0n) throw new Error("SRP: A mod N is 0");
  }

  /** srpA is the SRP_A parameter of InitiateAuth. */
  get srpA(): string {
    return this.A.toString(16);
  }

  /** passwordKey is the 16-byte HKDF key derived from the shared secret (the reference's
   * getPasswordAuthenticationKey). poolName is the part of the pool id after "_". */
  async passwordKey(poolName: string, userId: string, password: string, srpB: string, salt: string): Promise<Uint8Array<ArrayBuffer>> {
    const B = BigInt("0x" + srpB);
    if (mod(B, N) === 0n) throw new Error("SRP: B mod N is 0");
    const u = BigInt("0x" + (await hexHash(padHex(this.A) + padHex(B))));
    if (u === 0n) throw new Error("SRP: u is 0");
    const k = BigInt("0x" + (await hexHash(padHex(N) + padHex(g))));
    const idHash = bytesToHex(await sha256(enc.encode(`${poolName}${userId}:${password}`)));
    const x = BigInt("0x" + (await hexHash(padHex(BigInt("0x" + salt)) + idHash)));
    const S = modPow(mod(B - k * modPow(g, x, N), N), this.a + u * x, N);
    const prk = await hmac(hexToBytes(padHex(u)), hexToBytes(padHex(S)));
    const okm = await hmac(prk, concat(enc.encode("Caldera Derived Key"), new Uint8Array([1])));
    return okm.slice(0, 16);
  }

  /** signature is PASSWORD_CLAIM_SIGNATURE for the challenge's SECRET_BLOCK at time ts. */
  async signature(
    poolName: string,
    userId: string,
    password: string,
    p: { srpB: string; salt: string; secretBlock: string },
    ts: string,
  ): Promise<string> {
    const key = await this.passwordKey(poolName, userId, password, p.srpB, p.salt);
    const msg = concat(enc.encode(poolName), enc.encode(userId), b64decode(p.secretBlock), enc.encode(ts));
    return b64encode(await hmac(key, msg));
  }
}
