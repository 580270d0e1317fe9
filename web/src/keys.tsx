// The API Keys tab, as the product page describes it: an empty state, Create key (a name, then the
// key shown once with Copy), the list (name, masked prefix, dates; never the key again), and the
// trash that revokes at once.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Api, CreatedKey, Key } from "./api";
import { announce, Dialog, Field, FormError, fieldErrors, ShownOnce, Time, TrashIcon, useProjectList } from "./ui";

export function KeysTab({ api, projectId }: { api: Api; projectId: string }) {
  const [keys, setKeys, loadError, setLoadError] = useProjectList<Key>((id) => api.keys(id), projectId);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Key | null>(null);
  const createButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    // The keys tab's first render after sign-in, for the figure in docs/dashboard.md.
    if (keys && performance.getEntriesByName("codex:signed-in").length && !performance.getEntriesByName("codex:keys-rendered").length) {
      performance.mark("codex:keys-rendered");
      performance.measure("codex:keys-first-render", "codex:signed-in", "codex:keys-rendered");
    }
  }, [keys]);

  const hasLastUsed = keys?.some((k) => "last_used_at" in k);
  const hasExpiry = keys?.some((k) => "expires_at" in k);

  async function remove(k: Key) {
    setDeleting(null);
    // The row goes at once; it comes back only if the API refuses.
    setKeys((ks) => ks!.filter((x) => x.id !== k.id));
    createButton.current?.focus();
    try {
      await api.deleteKey(projectId, k.id);
      announce(`Key ${k.name} deleted`);
    } catch (e) {
      setKeys((ks) => [k, ...ks!]);
      setLoadError(`Could not delete ${k.name}: ${(e as Error).message}`);
    }
  }

  return (
    <section aria-labelledby="keys-heading">
      <div class="section-head">
        <h1 id="keys-heading">API keys</h1>
        <button ref={createButton} type="button" class="primary" onClick={() => setCreating(true)}>
          Create key
        </button>
      </div>
      <FormError error={loadError} />
      {keys === null && !loadError && <p aria-busy="true">Loading keys…</p>}
      {keys?.length === 0 && (
        <div class="empty">
          <h2>No API keys yet</h2>
          <p>
            An API key lets your own server call the Codex API: create checkouts, read them, check a payment. Each key
            belongs to this project.
          </p>
          <p>The buy button needs no key: it works from any web page on its own.</p>
        </div>
      )}
      {keys && keys.length > 0 && (
        <table class="list">
          <caption class="sr-only">API keys of this project</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Created</th>
              {hasLastUsed && <th scope="col">Last used</th>}
              {hasExpiry && <th scope="col">Expires</th>}
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <td>
                  {k.name}
                  {k.status === "expired" && <span class="badge">expired</span>}
                </td>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>
                  <Time iso={k.created_at} />
                </td>
                {hasLastUsed && (
                  <td>
                    {k.last_used_at ? (
                      <span title={[k.last_used_ip, k.last_used_user_agent].filter(Boolean).join(" · ")}>
                        <Time iso={k.last_used_at} />
                      </span>
                    ) : (
                      "Never"
                    )}
                  </td>
                )}
                {hasExpiry && <td>{k.expires_at ? <Time iso={k.expires_at} /> : "Never"}</td>}
                <td class="actions">
                  <button type="button" class="icon" onClick={() => setDeleting(k)}>
                    <TrashIcon />
                    <span class="sr-only">Delete key {k.name}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="notes">
        <p>
          <strong>Use a key only from server code</strong>, sent as a bearer token: <code>Authorization: Bearer cmk_…</code>.
          Never put it in a web page, a mobile app or a repository: anyone who sees it can act as your project.
        </p>
        <p>
          <strong>Rotate a key:</strong> create the new key, deploy it, then delete the old one.
        </p>
      </div>
      <CreateKeyDialog
        open={creating}
        api={api}
        projectId={projectId}
        onCreated={(k) => setKeys((ks) => [k, ...(ks ?? [])])}
        onClose={() => setCreating(false)}
      />
      <Dialog
        open={deleting !== null}
        title="Delete this key?"
        onDismiss={() => setDeleting(null)}
        returnFocus={() => createButton.current}
      >
        {deleting && (
          <>
            <p>
              Delete the key <strong>{deleting.name}</strong> (<code>{deleting.prefix}</code>)? Code still using it is
              rejected at once: its next request gets an error.
            </p>
            <div class="buttons">
              <button type="button" data-autofocus onClick={() => setDeleting(null)}>
                Cancel
              </button>
              <button type="button" class="danger" onClick={() => remove(deleting)}>
                Delete key
              </button>
            </div>
          </>
        )}
      </Dialog>
    </section>
  );
}

function CreateKeyDialog(props: { open: boolean; api: Api; projectId: string; onCreated: (k: Key) => void; onClose: () => void }) {
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  // The key is held only while the dialog shows it, then dropped.
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [copied, setCopied] = useState(false);
  const [confirming, setConfirming] = useState(false);

  function close() {
    setName("");
    setErrors({});
    setCreated(null);
    setCopied(false);
    setConfirming(false);
    props.onClose();
  }
  function dismiss() {
    if (created && !copied) setConfirming(true);
    else close();
  }

  async function generate(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const k = await props.api.createKey(props.projectId, name);
      const { key: _secret, ...listed } = k;
      // The create answer's prefix is bare; the list shows it masked, as GET .../keys does.
      props.onCreated({ ...listed, prefix: listed.prefix.endsWith("••••") ? listed.prefix : listed.prefix + "••••" });
      setCreated(k);
    } catch (err) {
      setErrors(fieldErrors(err, { name: "Name" }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog open={props.open} title={created ? "Save your new key" : "Create key"} onDismiss={dismiss} class="wide">
      <div>
        {!created && (
          <form onSubmit={generate} noValidate>
            <Field
              label="Name"
              hint="Usually where it runs, like 'Production server'. The name is only a label."
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
              error={errors.name}
              autoComplete="off"
              required
            />
            <FormError error={errors[""]} />
            <div class="buttons">
              <button type="button" onClick={close}>
                Cancel
              </button>
              <button type="submit" class="primary" disabled={busy}>
                Generate key
              </button>
            </div>
          </form>
        )}
        {created && (
          <ShownOnce
            id="new-key"
            label={created.name}
            secret={created.key}
            what="key"
            warning="This is the only time this key is shown. Codex keeps only a hash of it, so nobody can show it to you again. Copy it now and store it with your server's secrets."
            copied={copied}
            confirming={confirming}
            onCopied={() => setCopied(true)}
            onDone={dismiss}
            onBack={() => setConfirming(false)}
            onDiscard={close}
          />
        )}
      </div>
    </Dialog>
  );
}
