// The Buy buttons tab: create (price typed in major units, sent in the currency's minor units),
// list, archive, and the two-line snippet to paste, with Copy and a preview.
import { useRef, useState } from "preact/hooks";
import type { Api, Button } from "./api";
import type { Config } from "./config";
import { currencies, formatMoney, toMinor } from "./money";
import { announce, CopyButton, Dialog, Field, FormError, fieldErrors, Time, useProjectList } from "./ui";

// The API's params and the labels of their fields.
const fields = { name: "Product name", unit_amount: "Price", currency: "Currency", success_url: "Success URL", cancel_url: "Cancel URL" };

/** snippet is what a merchant pastes (contracts.md: buyer → dashboard). */
export function snippet(origin: string, projectId: string, b: { id: string; name: string }): string {
  return (
    `<script async src="${origin}/button.js"></script>\n` +
    `<a data-codex-button="${b.id}" data-codex-project="${projectId}" href="${origin}/b/${projectId}/${b.id}">Buy ${escapeHTML(b.name)}</a>`
  );
}

function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function ButtonsTab({ api, cfg, projectId }: { api: Api; cfg: Config; projectId: string }) {
  const [buttons, setButtons, loadError, setLoadError] = useProjectList<Button>((id) => api.buttons(id), projectId);
  const [showing, setShowing] = useState<Button | null>(null);
  const [archiving, setArchiving] = useState<Button | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  async function archive(b: Button) {
    setArchiving(null);
    try {
      await api.archiveButton(projectId, b.id);
      setButtons((bs) => bs!.map((x) => (x.id === b.id ? { ...x, active: false } : x)));
      announce(`${b.name} archived`);
    } catch (e) {
      setLoadError(`Could not archive ${b.name}: ${(e as Error).message}`);
    }
  }

  return (
    <section aria-labelledby="buttons-heading">
      <div class="section-head">
        <h1 id="buttons-heading" ref={heading} tabIndex={-1}>
          Buy buttons
        </h1>
      </div>
      <p class="lead">A buy button sells one product at a fixed price from any web page, with no API key.</p>
      <CreateButtonForm
        api={api}
        projectId={projectId}
        onCreated={(b) => {
          setButtons((bs) => [b, ...(bs ?? [])]);
          setShowing(b);
        }}
      />
      <h2>Your buttons</h2>
      <FormError error={loadError} />
      {buttons === null && !loadError && <p aria-busy="true">Loading buttons…</p>}
      {buttons?.length === 0 && <p class="empty">No buy buttons yet.</p>}
      {buttons && buttons.length > 0 && (
        <table class="list">
          <caption class="sr-only">Buy buttons of this project</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Price</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {buttons.map((b) => (
              <tr key={b.id}>
                <td>{b.name}</td>
                <td>{formatMoney(b.unit_amount, b.currency)}</td>
                <td>{b.active ? "Active" : <span class="badge">Archived</span>}</td>
                <td>
                  <Time iso={b.created_at} />
                </td>
                <td class="actions">
                  {b.active && (
                    <>
                      <button type="button" onClick={() => setShowing(b)}>
                        Snippet<span class="sr-only"> for {b.name}</span>
                      </button>
                      <button type="button" onClick={() => setArchiving(b)}>
                        Archive<span class="sr-only"> {b.name}</span>
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog open={showing !== null} title={`Snippet for ${showing?.name ?? ""}`} onDismiss={() => setShowing(null)} class="wide">
        {showing && <SnippetView cfg={cfg} projectId={projectId} button={showing} onClose={() => setShowing(null)} />}
      </Dialog>
      <Dialog open={archiving !== null} title="Archive this button?" onDismiss={() => setArchiving(null)} returnFocus={() => heading.current}>
        {archiving && (
          <>
            <p>
              Archive <strong>{archiving.name}</strong>? Pages that show it stop selling at once; checkouts already made
              from it are kept.
            </p>
            <div class="buttons">
              <button type="button" data-autofocus onClick={() => setArchiving(null)}>
                Cancel
              </button>
              <button type="button" class="danger" onClick={() => archive(archiving)}>
                Archive button
              </button>
            </div>
          </>
        )}
      </Dialog>
    </section>
  );
}

function SnippetView({ cfg, projectId, button, onClose }: { cfg: Config; projectId: string; button: Button; onClose: () => void }) {
  const code = snippet(cfg.publicOrigin, projectId, button);
  return (
    <>
      <p>Paste these two lines where the button should appear. The link works without JavaScript too.</p>
      <pre class="snippet" tabIndex={0} aria-label="Snippet">
        <code>{code}</code>
      </pre>
      <CopyButton text={code} autofocus />
      <h3>Preview</h3>
      <Preview name={button.name} price={formatMoney(button.unit_amount, button.currency)} href={`${cfg.publicOrigin}/b/${projectId}/${button.id}`} />
      <div class="buttons">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </>
  );
}

/** Preview shows the button as a page renders it without the script: a link to the buy page. */
function Preview({ name, price, href }: { name: string; price: string; href?: string }) {
  return (
    <div class="preview">
      {href ? (
        <a class="buy" href={href} target="_blank" rel="noopener">
          Buy {name}
        </a>
      ) : (
        <span class="buy">Buy {name || "…"}</span>
      )}
      <span class="price">{price}</span>
    </div>
  );
}

function CreateButtonForm({ api, projectId, onCreated }: { api: Api; projectId: string; onCreated: (b: Button) => void }) {
  const [name, setName] = useState("");
  const [price, setPrice] = useState("");
  const [currency, setCurrency] = useState("eur");
  const [success, setSuccess] = useState("");
  const [cancel, setCancel] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const all = currencies();

  const minor = price ? toMinor(price, currency) : null;
  async function submit(e: Event) {
    e.preventDefault();
    const m = toMinor(price, currency);
    if (typeof m !== "number") {
      setErrors({ unit_amount: m.error });
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const b = await api.createButton(projectId, { name, unit_amount: m, currency, success_url: success, cancel_url: cancel });
      setName("");
      setPrice("");
      onCreated(b);
    } catch (err) {
      setErrors(fieldErrors(err, fields));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="new-button-heading">
      <h2 id="new-button-heading">New buy button</h2>
      <div class="grid">
        <div>
          <Field label="Product name" value={name} onInput={(e) => setName(e.currentTarget.value)} error={errors.name} required />
          <div class="row">
            <Field
              label="Price"
              hint={`In ${currency.toUpperCase()}, like 19.99`}
              inputMode="decimal"
              value={price}
              onInput={(e) => setPrice(e.currentTarget.value)}
              error={errors.unit_amount}
              required
            />
            <Field as="select" label="Currency" value={currency} onChange={(e) => setCurrency(e.currentTarget.value)} error={errors.currency}>
              {all.map((c) => (
                <option key={c} value={c}>
                  {c.toUpperCase()}
                </option>
              ))}
            </Field>
          </div>
          <Field label="Success URL" hint="Where buyers go after paying" type="url" value={success} onInput={(e) => setSuccess(e.currentTarget.value)} error={errors.success_url} required />
          <Field label="Cancel URL" hint="Where buyers go if they cancel" type="url" value={cancel} onInput={(e) => setCancel(e.currentTarget.value)} error={errors.cancel_url} required />
          <FormError error={errors[""]} />
          <button type="submit" class="primary" disabled={busy}>
            Create button
          </button>
        </div>
        <div>
          <h3>Preview</h3>
          <Preview name={name} price={typeof minor === "number" ? formatMoney(minor, currency) : ""} />
        </div>
      </div>
    </form>
  );
}
