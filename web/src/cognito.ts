// Sign-up, sign-in, refresh and sign-out against a Cognito user pool through Cognito's JSON API,
// the calls amazon-cognito-identity-js makes, without it. Tokens live in sessionStorage: they go
// with the tab, and a reload keeps the user signed in.
import type { Config } from "./config";
import { Client, timestamp } from "./srp";

export class AuthError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Session {
  username: string;
  idToken: string;
  refreshToken: string;
  /** expiresAt is when the ID token expires, in ms since the epoch. */
  expiresAt: number;
}

const storageKey = "codex.session";

// Cognito's messages are mostly plain already; these say what to do next.
const plain: Record<string, string> = {
  NotAuthorizedException: "Incorrect username or password.",
  UserNotFoundException: "Incorrect username or password.",
  UsernameExistsException: "That username is taken. Sign in, or choose another one.",
  CodeMismatchException: "That code is not the one we sent. Check the email and try again.",
  ExpiredCodeException: "That code has expired. Ask for a new one.",
  TooManyRequestsException: "Too many attempts. Wait a minute, then try again.",
  LimitExceededException: "Too many attempts. Wait a minute, then try again.",
};

export class Auth {
  constructor(private readonly cfg: Config) {}

  private async call<T>(target: string, body: object): Promise<T> {
    const res = await fetch(this.cfg.cognitoEndpoint!, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService." + target,
      },
      body: JSON.stringify(body),
      cache: "no-store",
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const type = String(data.__type ?? "").split("#").pop() || "Error";
      throw new AuthError(type, plain[type] ?? data.message ?? `Sign-in service error (${res.status})`);
    }
    return data as T;
  }

  signUp(username: string, email: string, password: string) {
    return this.call("SignUp", {
      ClientId: this.cfg.clientId,
      Username: username,
      Password: password,
      UserAttributes: [{ Name: "email", Value: email }],
    });
  }

  confirm(username: string, code: string) {
    return this.call("ConfirmSignUp", { ClientId: this.cfg.clientId, Username: username, ConfirmationCode: code });
  }

  resendCode(username: string) {
    return this.call("ResendConfirmationCode", { ClientId: this.cfg.clientId, Username: username });
  }

  /** signIn runs USER_SRP_AUTH: InitiateAuth with A, then the password proof for the PASSWORD_VERIFIER challenge. */
  async signIn(username: string, password: string): Promise<Session> {
    const srp = new Client();
    const init = await this.call<{ ChallengeName?: string; Session?: string; ChallengeParameters: Record<string, string> }>(
      "InitiateAuth",
      { AuthFlow: "USER_SRP_AUTH", ClientId: this.cfg.clientId, AuthParameters: { USERNAME: username, SRP_A: srp.srpA } },
    );
    if (init.ChallengeName !== "PASSWORD_VERIFIER") throw new AuthError("Challenge", `Unsupported sign-in step ${init.ChallengeName}`);
    const p = init.ChallengeParameters;
    const poolName = this.cfg.userPoolId.split("_")[1];
    const ts = timestamp(new Date());
    const sig = await srp.signature(poolName, p.USER_ID_FOR_SRP, password, { srpB: p.SRP_B, salt: p.SALT, secretBlock: p.SECRET_BLOCK }, ts);
    const out = await this.call<{ ChallengeName?: string; AuthenticationResult?: Tokens }>("RespondToAuthChallenge", {
      ChallengeName: "PASSWORD_VERIFIER",
      ClientId: this.cfg.clientId,
      Session: init.Session,
      ChallengeResponses: {
        USERNAME: p.USERNAME ?? p.USER_ID_FOR_SRP,
        PASSWORD_CLAIM_SECRET_BLOCK: p.SECRET_BLOCK,
        PASSWORD_CLAIM_SIGNATURE: sig,
        TIMESTAMP: ts,
      },
    });
    if (!out.AuthenticationResult) throw new AuthError("Challenge", `Unsupported sign-in step ${out.ChallengeName}`);
    const s = toSession(username, out.AuthenticationResult, out.AuthenticationResult.RefreshToken!);
    save(s);
    return s;
  }

  /** refresh gets a new ID token with the refresh token (REFRESH_TOKEN_AUTH). */
  async refresh(s: Session): Promise<Session> {
    const out = await this.call<{ AuthenticationResult: Tokens }>("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: this.cfg.clientId,
      AuthParameters: { REFRESH_TOKEN: s.refreshToken },
    });
    const next = toSession(s.username, out.AuthenticationResult, s.refreshToken);
    save(next);
    return next;
  }

  /** signOut revokes the refresh token (and the tokens issued from it) and forgets the session. */
  async signOut(s: Session): Promise<void> {
    sessionStorage.removeItem(storageKey);
    await this.call("RevokeToken", { ClientId: this.cfg.clientId, Token: s.refreshToken });
  }
}

interface Tokens {
  IdToken: string;
  RefreshToken?: string;
  ExpiresIn: number;
}

function toSession(username: string, t: Tokens, refreshToken: string): Session {
  return { username, idToken: t.IdToken, refreshToken, expiresAt: Date.now() + t.ExpiresIn * 1000 };
}

function save(s: Session) {
  sessionStorage.setItem(storageKey, JSON.stringify(s));
}

export function storedSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(storageKey) ?? "null");
    return s && typeof s.idToken === "string" ? s : null;
  } catch {
    return null;
  }
}
