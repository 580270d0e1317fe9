// The Checkouts tab: the project's checkouts with status, amount and date, a filter by status, and
// a detail view of one.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Api, Checkout } from "./api";
import { formatMoney } from "./money";
import { Dialog, FormError, Time } from "./ui";

const statuses = ["open", "complete", "expired"];

export function CheckoutsTab({ api, projectId }: { api: Api; projectId: string }) {
  const [items, setItems] = useState<Checkout[] | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState("");
  const [filter, setFilter] = useState("");
  const [detail, setDetail] = useState<Checkout | null>(null);

  async function load(after?: string) {
    try {
      const p = await api.checkouts(projectId, after);
      setItems((xs) => (after ? [...(xs ?? []), ...p.data] : p.data));
      setHasMore(!!p.has_more);
    } catch (e) {
      setError((e as Error).message);
    }
  }
  useEffect(() => {
    setItems(null);
    load();
  }, [projectId]);

  const shown = items?.filter((c) => !filter || c.status === filter);
  return (
    <section aria-labelledby="checkouts-heading">
      <div class="section-head">
        <h1 id="checkouts-heading">Checkouts</h1>
        <div class="field inline">
          <label for="status-filter">Status</label>
          <select id="status-filter" value={filter} onChange={(e) => setFilter(e.currentTarget.value)}>
            <option value="">All</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s[0].toUpperCase() + s.slice(1)}
              </option>
            ))}
          </select>
        </div>
      </div>
      <FormError error={error} />
      {items === null && !error && <p aria-busy="true">Loading checkouts…</p>}
      {shown?.length === 0 && <p class="empty">{filter ? `No ${filter} checkouts.` : "No checkouts yet. They appear here as your server or your buy buttons create them."}</p>}
      {shown && shown.length > 0 && (
        <table class="list">
          <caption class="sr-only">Checkouts{filter ? `, ${filter} only` : ""}</caption>
          <thead>
            <tr>
              <th scope="col">Checkout</th>
              <th scope="col">Status</th>
              <th scope="col">Amount</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((c) => (
              <tr key={c.id}>
                <td>
                  <button type="button" class="link" onClick={() => setDetail(c)}>
                    <code>{c.id}</code>
                  </button>
                </td>
                <td>
                  <span class={"status " + c.status}>{c.status}</span>
                </td>
                <td>{formatMoney(c.amount_total, c.currency)}</td>
                <td>
                  <Time iso={c.created_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {hasMore && items && (
        <button type="button" onClick={() => load(items[items.length - 1].id)}>
          Load more
        </button>
      )}
      <Dialog open={detail !== null} title="Checkout" onDismiss={() => setDetail(null)} class="wide">
        {detail && <CheckoutDetail c={detail} onClose={() => setDetail(null)} />}
      </Dialog>
    </section>
  );
}

function CheckoutDetail({ c, onClose }: { c: Checkout; onClose: () => void }) {
  const row = (label: string, value: ComponentChildren) =>
    value === undefined || value === null || value === "" ? null : (
      <>
        <dt>{label}</dt>
        <dd>{value}</dd>
      </>
    );
  return (
    <>
      <dl class="detail">
        {row("ID", <code>{c.id}</code>)}
        {row("Status", c.status)}
        {row("Amount", formatMoney(c.amount_total, c.currency))}
        {row("Created", <Time iso={c.created_at} />)}
        {row("Expires", c.expires_at && <Time iso={c.expires_at} />)}
        {row("Completed", c.completed_at && <Time iso={c.completed_at} />)}
        {row("Customer email", c.customer_email)}
        {row("Paid with", c.payment_method && `${c.payment_method.brand} ending ${c.payment_method.last4}`)}
        {row("Last payment error", c.last_payment_error?.message)}
        {row("Your reference", c.client_reference_id)}
        {row("Buy button", c.button_id && <code>{c.button_id}</code>)}
        {row("Success URL", c.success_url)}
        {row("Cancel URL", c.cancel_url)}
      </dl>
      <h3>Items</h3>
      <ul>
        {c.line_items.map((li, i) => (
          <li key={i}>
            {li.quantity} × {li.name} at {formatMoney(li.unit_amount, c.currency)}
          </li>
        ))}
      </ul>
      {c.metadata && Object.keys(c.metadata).length > 0 && (
        <>
          <h3>Metadata</h3>
          <dl class="detail">
            {Object.entries(c.metadata).map(([k, v]) => row(k, v))}
          </dl>
        </>
      )}
      <div class="buttons">
        <button type="button" data-autofocus onClick={onClose}>
          Close
        </button>
      </div>
    </>
  );
}
