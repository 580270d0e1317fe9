// The dashboard API (the HttpApi's /projects routes) with the signed-in user's ID token. Errors
// become ApiError with the envelope's param, so a form can show the message next to the field.
import type { Auth, Session } from "./cognito";
import type { Config } from "./config";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly param?: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export interface Project {
  id: string;
  name: string;
  created_at: string;
}

export interface Key {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  // From the key-lifecycle routes, when the API has them.
  status?: "active" | "expired";
  expires_at?: string | null;
  last_used_at?: string | null;
  last_used_ip?: string | null;
  last_used_user_agent?: string | null;
}

export interface CreatedKey extends Key {
  key: string;
}

export interface Button {
  id: string;
  name: string;
  unit_amount: number;
  currency: string;
  success_url: string;
  cancel_url: string;
  created_at: string;
  active: boolean;
}

export type NewButton = Pick<Button, "name" | "unit_amount" | "currency" | "success_url" | "cancel_url">;

export interface Checkout {
  id: string;
  status: string;
  amount_total: number;
  currency: string;
  created_at: string;
  expires_at?: string;
  completed_at?: string | null;
  customer_email?: string | null;
  client_reference_id?: string | null;
  button_id?: string | null;
  line_items: { name: string; unit_amount: number; quantity: number }[];
  url?: string;
  success_url?: string;
  cancel_url?: string;
  metadata?: Record<string, string>;
  payment_method?: { brand: string; last4: string } | null;
  last_payment_error?: { code: string; message: string } | null;
}

export const eventTypes = ["checkout.created", "checkout.completed", "checkout.payment_failed", "checkout.expired"] as const;

export interface Webhook {
  id: string;
  url: string;
  /** Event types, or ["*"] for all of them. */
  events: string[];
  description: string;
  disabled: boolean;
  disabled_reason: string | null;
  failing_since: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface CreatedWebhook extends Webhook {
  secret: string;
}

export type WebhookInput = Pick<Webhook, "url" | "events" | "description">;

export interface WebhookAttempt {
  event_id: string;
  event_type: string;
  attempt: number;
  created_at: string;
  outcome: "succeeded" | "retrying" | "failed";
  response_status: number | null;
  latency_ms: number;
  response_body: string;
  error: string | null;
  next_retry_at: string | null;
}

export interface Queued {
  event_id: string;
  event_type: string;
  status: "queued";
}

export interface CodexEvent {
  id: string;
  object: "event";
  type: string;
  created_at: string;
  livemode: boolean;
  data: { object: Record<string, unknown> };
}

export interface Page<T> {
  data: T[];
  has_more?: boolean;
  next_cursor?: string | null;
}

export class Api {
  constructor(
    private readonly cfg: Config,
    private readonly auth: Auth,
    private session: Session,
    private readonly onSession: (s: Session | null) => void,
  ) {}

  private async token(force = false): Promise<string> {
    if (force || this.session.expiresAt - Date.now() < 60_000) {
      try {
        this.session = await this.auth.refresh(this.session);
        this.onSession(this.session);
      } catch {
        this.onSession(null);
        throw new ApiError(401, "Your session has ended. Sign in again.");
      }
    }
    return this.session.idToken;
  }

  async request<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
    const headers: Record<string, string> = { Authorization: "Bearer " + (await this.token(retried)) };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(this.cfg.apiBase + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "Could not reach Codex. Check your connection and try again.");
    }
    if (res.status === 401 && !retried) return this.request(method, path, body, true);
    if (res.status === 204) return undefined as T;
    const data = await res.json().catch(() => null);
    if (res.ok) return data as T;
    const e = data?.error ?? {};
    const id = data?.request_id;
    if (res.status === 401) {
      this.onSession(null);
      throw new ApiError(401, "Your session has ended. Sign in again.");
    }
    if (res.status >= 500 || !e.message) {
      throw new ApiError(res.status, `Something went wrong on our side${id ? ` (request ${id})` : ""}. Try again in a moment.`, e.code, undefined, id);
    }
    throw new ApiError(res.status, sentence(e.message), e.code, e.param, id);
  }

  projects = () => this.request<Page<Project>>("GET", "/projects");
  createProject = (name: string) => this.request<Project>("POST", "/projects", { name });

  keys = (p: string) => this.request<Page<Key>>("GET", `/projects/${p}/keys`);
  createKey = (p: string, name: string) => this.request<CreatedKey>("POST", `/projects/${p}/keys`, { name });
  deleteKey = (p: string, k: string) => this.request<void>("DELETE", `/projects/${p}/keys/${k}`);

  buttons = (p: string) => this.request<Page<Button>>("GET", `/projects/${p}/buttons`);
  createButton = (p: string, b: NewButton) => this.request<Button>("POST", `/projects/${p}/buttons`, b);
  archiveButton = (p: string, b: string) => this.request<void>("DELETE", `/projects/${p}/buttons/${b}`);

  checkouts = (p: string, startingAfter?: string) =>
    this.request<Page<Checkout>>("GET", `/projects/${p}/checkouts?limit=50${startingAfter ? `&starting_after=${startingAfter}` : ""}`);

  webhooks = (p: string) => this.request<Page<Webhook>>("GET", `/projects/${p}/webhooks`);
  createWebhook = (p: string, w: WebhookInput) => this.request<CreatedWebhook>("POST", `/projects/${p}/webhooks`, w);
  updateWebhook = (p: string, w: string, patch: Partial<WebhookInput & { disabled: boolean }>) =>
    this.request<Webhook>("PATCH", `/projects/${p}/webhooks/${w}`, patch);
  deleteWebhook = (p: string, w: string) => this.request<void>("DELETE", `/projects/${p}/webhooks/${w}`);
  rotateWebhookSecret = (p: string, w: string) => this.request<CreatedWebhook>("POST", `/projects/${p}/webhooks/${w}/rotate-secret`);
  testWebhook = (p: string, w: string) => this.request<Queued>("POST", `/projects/${p}/webhooks/${w}/test`);
  deliveries = (p: string, w: string, cursor?: string) =>
    this.request<Page<WebhookAttempt>>("GET", `/projects/${p}/webhooks/${w}/deliveries?limit=20${cursor ? `&starting_after=${encodeURIComponent(cursor)}` : ""}`);
  redeliver = (p: string, w: string, e: string) => this.request<Queued>("POST", `/projects/${p}/webhooks/${w}/deliveries/${e}/redeliver`);

  events = (p: string, type?: string, startingAfter?: string) => {
    const q = new URLSearchParams({ limit: "25" });
    if (type) q.set("type", type);
    if (startingAfter) q.set("starting_after", startingAfter);
    return this.request<Page<CodexEvent>>("GET", `/projects/${p}/events?${q}`);
  };
}

/** sentence capitalises an API message and ends it with a full stop. */
function sentence(m: string): string {
  m = m.charAt(0).toUpperCase() + m.slice(1);
  return /[.!?]$/.test(m) ? m : m + ".";
}
