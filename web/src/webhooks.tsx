// The Webhooks tab: the project's endpoints with their status, Add endpoint (the signing secret
// shown once, as the keys tab shows a key), and one endpoint's page: send a test event, rotate the
// secret, disable or enable, delete, and its deliveries with Redeliver.
import { useEffect, useRef, useState } from "preact/hooks";
import { type Api, type CreatedWebhook, eventTypes, type Webhook, type WebhookAttempt } from "./api";
import { announce, Dialog, Field, FormError, fieldErrors, ShownOnce, Time, TrashIcon, useProjectList } from "./ui";

const secretWarning =
  "This is the only time this signing secret is shown: Codex keeps it encrypted and never shows it again. " +
  "Your server checks each delivery's webhook-signature header with it. Copy it now and store it with your server's secrets.";

export function WebhooksTab({ api, projectId }: { api: Api; projectId: string }) {
  const [hooks, setHooks, loadError] = useProjectList<Webhook>((id) => api.webhooks(id), projectId);
  const [creating, setCreating] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const addButton = useRef<HTMLButtonElement>(null);

  const replace = (w: Webhook) => setHooks((hs) => (hs ?? []).map((h) => (h.id === w.id ? w : h)));
  const current = hooks?.find((h) => h.id === selected);

  return (
    <section aria-labelledby="webhooks-heading">
      <div class="section-head">
        <h1 id="webhooks-heading">Webhooks</h1>
        <button ref={addButton} type="button" class="primary" onClick={() => setCreating(true)}>
          Add endpoint
        </button>
      </div>
      <FormError error={loadError} />
      {hooks === null && !loadError && <p aria-busy="true">Loading endpoints…</p>}
      {hooks?.length === 0 && (
        <div class="empty">
          <h2>No webhook endpoints yet</h2>
          <p>
            An endpoint is a URL on your server that Codex calls when something happens in this project, such as a checkout
            being paid, so that your server learns of it without asking. Each delivery is signed with the endpoint's secret.
          </p>
        </div>
      )}
      {hooks && hooks.length > 0 && (
        <table class="list">
          <caption class="sr-only">Webhook endpoints of this project</caption>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Events</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {hooks.map((h) => (
              <tr key={h.id}>
                <td>
                  <button type="button" class="link" aria-pressed={h.id === selected} onClick={() => setSelected(h.id === selected ? null : h.id)}>
                    {h.url}
                  </button>
                  {h.description && <div class="hint">{h.description}</div>}
                </td>
                <td>{eventsLabel(h.events)}</td>
                <td>
                  <WebhookStatus h={h} />
                </td>
                <td>
                  <Time iso={h.created_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {current && (
        <Endpoint
          key={current.id}
          api={api}
          projectId={projectId}
          hook={current}
          onChange={replace}
          onDeleted={() => {
            setHooks((hs) => (hs ?? []).filter((h) => h.id !== current.id));
            setSelected(null);
            addButton.current?.focus();
            announce(`Endpoint ${current.url} deleted`);
          }}
        />
      )}
      <div class="notes">
        <p>
          <strong>Verify every delivery:</strong> each carries <code>webhook-id</code>, <code>webhook-timestamp</code> and{" "}
          <code>webhook-signature</code> headers (Standard Webhooks); check the signature with the endpoint's secret before
          trusting the body. A delivery that does not get a 2xx is retried for up to 3 days.
        </p>
      </div>
      <CreateWebhookDialog
        open={creating}
        api={api}
        projectId={projectId}
        onCreated={(w) => {
          setHooks((hs) => [w, ...(hs ?? [])]);
          setSelected(w.id);
        }}
        onClose={() => setCreating(false)}
      />
    </section>
  );
}

function eventsLabel(events: string[]): string {
  return events.includes("*") ? "All events" : events.join(", ");
}

function WebhookStatus({ h }: { h: Webhook }) {
  if (h.disabled) {
    return (
      <span class="state off">
        Disabled{h.disabled_reason ? `: ${h.disabled_reason}` : ""}
      </span>
    );
  }
  if (h.failing_since) {
    return (
      <span class="state failing">
        Failing since <Time iso={h.failing_since} />
      </span>
    );
  }
  return <span class="state ok">Enabled</span>;
}

/** withoutSecret is what the list keeps of a created or rotated endpoint. */
function withoutSecret(w: CreatedWebhook): Webhook {
  const { secret: _secret, ...listed } = w;
  return listed;
}

/** useShownOnce holds a secret while its dialog shows it, and whether it was copied. */
function useShownOnce(onClose: () => void) {
  const [secret, setSecret] = useState<CreatedWebhook | null>(null);
  const [copied, setCopied] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const close = () => {
    setSecret(null);
    setCopied(false);
    setConfirming(false);
    onClose();
  };
  const dismiss = () => (secret && !copied ? setConfirming(true) : close());
  const view = (label: string) =>
    secret && (
      <ShownOnce
        id="new-secret"
        label={label}
        secret={secret.secret}
        what="signing secret"
        warning={secretWarning}
        copied={copied}
        confirming={confirming}
        onCopied={() => setCopied(true)}
        onDone={dismiss}
        onBack={() => setConfirming(false)}
        onDiscard={close}
      />
    );
  return { secret, setSecret, close, dismiss, view };
}

function CreateWebhookDialog(props: { open: boolean; api: Api; projectId: string; onCreated: (w: Webhook) => void; onClose: () => void }) {
  const [url, setUrl] = useState("");
  const [all, setAll] = useState(true);
  const [types, setTypes] = useState<string[]>([]);
  const [description, setDescription] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const shown = useShownOnce(() => {
    setUrl("");
    setAll(true);
    setTypes([]);
    setDescription("");
    setErrors({});
    props.onClose();
  });

  async function create(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const w = await props.api.createWebhook(props.projectId, { url, events: all ? ["*"] : eventTypes.filter((t) => types.includes(t)), description });
      props.onCreated(withoutSecret(w));
      shown.setSecret(w);
    } catch (err) {
      setErrors(fieldErrors(err, { url: "URL", events: "Events", description: "Description" }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog open={props.open} title={shown.secret ? "Save your signing secret" : "Add endpoint"} onDismiss={shown.dismiss} class="wide">
      {!shown.secret ? (
        <form onSubmit={create} noValidate>
          <Field
            label="URL"
            type="url"
            hint="Where Codex sends events: an https URL on the public internet, on your server."
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
            error={errors.url}
            autoComplete="off"
            placeholder="https://shop.example/codex/webhooks"
            required
          />
          <EventsField all={all} types={types} onAll={setAll} onTypes={setTypes} error={errors.events} />
          <Field
            label="Description"
            hint="Optional: a note for you, like 'Order fulfilment'."
            value={description}
            onInput={(e) => setDescription(e.currentTarget.value)}
            error={errors.description}
            autoComplete="off"
          />
          <FormError error={errors[""]} />
          <div class="buttons">
            <button type="button" onClick={shown.close}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={busy}>
              Add endpoint
            </button>
          </div>
        </form>
      ) : (
        shown.view(`Signing secret of ${shown.secret.url}`)
      )}
    </Dialog>
  );
}

function EventsField(p: { all: boolean; types: string[]; onAll: (b: boolean) => void; onTypes: (t: string[]) => void; error?: string }) {
  const errId = "events-error";
  return (
    <fieldset class={"field events" + (p.error ? " invalid" : "")} aria-describedby={p.error ? errId : undefined}>
      <legend>Events to send</legend>
      <div class="check">
        <input id="events-all" type="checkbox" checked={p.all} onChange={(e) => p.onAll(e.currentTarget.checked)} />
        <label for="events-all">All events, including types added later</label>
      </div>
      {!p.all &&
        eventTypes.map((t) => (
          <div class="check" key={t}>
            <input
              id={"events-" + t}
              type="checkbox"
              checked={p.types.includes(t)}
              onChange={(e) => p.onTypes(e.currentTarget.checked ? [...p.types, t] : p.types.filter((x) => x !== t))}
            />
            <label for={"events-" + t}>{t}</label>
          </div>
        ))}
      {p.error && (
        <p class="error" id={errId}>
          {p.error}
        </p>
      )}
    </fieldset>
  );
}

function Endpoint(props: { api: Api; projectId: string; hook: Webhook; onChange: (w: Webhook) => void; onDeleted: () => void }) {
  const { api, projectId, hook: h } = props;
  const [attempts, setAttempts] = useState<WebhookAttempt[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const [rotating, setRotating] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const timers = useRef<number[]>([]);
  const shown = useShownOnce(() => setRotating(false));

  async function load(after?: string) {
    try {
      const p = await api.deliveries(projectId, h.id, after);
      setAttempts((xs) => (after ? [...(xs ?? []), ...p.data] : p.data));
      setCursor(p.has_more ? (p.next_cursor ?? null) : null);
    } catch (e) {
      setError((e as Error).message);
    }
  }
  useEffect(() => {
    load();
    heading.current?.focus();
    return () => timers.current.forEach(clearTimeout);
  }, []);
  // A queued delivery is attempted within seconds: look again a few times.
  const soon = () => {
    for (const ms of [1500, 4000, 8000]) timers.current.push(window.setTimeout(() => load(), ms));
  };

  async function act(fn: () => Promise<void>) {
    setBusy(true);
    setError("");
    setNotice("");
    try {
      await fn();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }
  const test = () =>
    act(async () => {
      const q = await api.testWebhook(projectId, h.id);
      setNotice(`Test event ${q.event_id} queued: its delivery appears below in a few seconds.`);
      soon();
    });
  const toggle = () =>
    act(async () => {
      const w = await api.updateWebhook(projectId, h.id, { disabled: !h.disabled });
      props.onChange(w);
      setNotice(w.disabled ? "Endpoint disabled: nothing is sent to it until you enable it." : "Endpoint enabled.");
    });
  const redeliver = (a: WebhookAttempt) =>
    act(async () => {
      await api.redeliver(projectId, h.id, a.event_id);
      setNotice(`Event ${a.event_id} queued again.`);
      soon();
    });
  const rotate = () =>
    act(async () => {
      const w = await api.rotateWebhookSecret(projectId, h.id);
      props.onChange(withoutSecret(w));
      shown.setSecret(w);
    });
  const remove = () =>
    act(async () => {
      await api.deleteWebhook(projectId, h.id);
      setDeleting(false);
      props.onDeleted();
    });

  return (
    <section class="card" aria-labelledby="endpoint-heading">
      <h2 id="endpoint-heading" ref={heading} tabIndex={-1}>
        Endpoint <code>{h.url}</code>
      </h2>
      <dl class="detail">
        <dt>Events</dt>
        <dd>{eventsLabel(h.events)}</dd>
        <dt>Status</dt>
        <dd>
          <WebhookStatus h={h} />
        </dd>
        {h.previous_secret_expires_at && (
          <>
            <dt>Previous secret</dt>
            <dd>
              also signs until <Time iso={h.previous_secret_expires_at} />
            </dd>
          </>
        )}
      </dl>
      <div class="buttons start">
        <button type="button" disabled={busy || h.disabled} onClick={test}>
          Send test event
        </button>
        <button type="button" disabled={busy} onClick={() => setRotating(true)}>
          Rotate secret
        </button>
        <button type="button" disabled={busy} onClick={toggle}>
          {h.disabled ? "Enable" : "Disable"}
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => setDeleting(true)}>
          <TrashIcon /> Delete endpoint
        </button>
      </div>
      <FormError error={error} />
      <p role="status" class="notice">
        {notice}
      </p>
      <div class="section-head">
        <h3>Deliveries</h3>
        <button type="button" onClick={() => load()}>
          Refresh
        </button>
      </div>
      {attempts === null && !error && <p aria-busy="true">Loading deliveries…</p>}
      {attempts?.length === 0 && <p class="empty">Nothing sent yet. Send a test event to see a delivery here.</p>}
      {attempts && attempts.length > 0 && (
        <table class="list deliveries">
          <caption class="sr-only">Delivery attempts to {h.url}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Type</th>
              <th scope="col">Attempt</th>
              <th scope="col">Time</th>
              <th scope="col">Response</th>
              <th scope="col">Latency</th>
              <th scope="col">Next retry</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr key={a.event_id + "/" + a.attempt + "/" + a.created_at}>
                <td>
                  <code>{a.event_id}</code>
                </td>
                <td>
                  <code>{a.event_type}</code>
                </td>
                <td>{a.attempt}</td>
                <td>
                  <Time iso={a.created_at} exact />
                </td>
                <td>
                  <span class={"outcome " + a.outcome} title={a.response_body || undefined}>
                    {a.response_status ?? "no response"}
                    {a.error ? `: ${a.error}` : ""} ({a.outcome})
                  </span>
                </td>
                <td>{a.latency_ms} ms</td>
                <td>{a.next_retry_at ? <Time iso={a.next_retry_at} exact /> : "None"}</td>
                <td class="actions">
                  <button type="button" disabled={busy || h.disabled} onClick={() => redeliver(a)}>
                    Redeliver<span class="sr-only"> {a.event_id}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor && (
        <button type="button" onClick={() => load(cursor)}>
          Load more
        </button>
      )}
      <Dialog open={rotating} title={shown.secret ? "Save your new signing secret" : "Rotate the signing secret?"} onDismiss={shown.dismiss} class="wide">
        {!shown.secret ? (
          <>
            <p>
              A new secret signs every delivery to <strong>{h.url}</strong> from now on. The old one keeps signing too, for
              24 hours: deliveries carry both signatures, so your server can switch to the new secret within a day without
              missing one.
            </p>
            <FormError error={error} />
            <div class="buttons">
              <button type="button" data-autofocus onClick={shown.close}>
                Cancel
              </button>
              <button type="button" class="primary" disabled={busy} onClick={rotate}>
                Rotate secret
              </button>
            </div>
          </>
        ) : (
          shown.view(`New signing secret of ${h.url}`)
        )}
      </Dialog>
      <Dialog open={deleting} title="Delete this endpoint?" onDismiss={() => setDeleting(false)}>
        <p>
          Delete the endpoint <strong>{h.url}</strong>? Nothing more is sent to it, including retries of failed deliveries.
        </p>
        <FormError error={error} />
        <div class="buttons">
          <button type="button" data-autofocus onClick={() => setDeleting(false)}>
            Cancel
          </button>
          <button type="button" class="danger" disabled={busy} onClick={remove}>
            Delete endpoint
          </button>
        </div>
      </Dialog>
    </section>
  );
}
