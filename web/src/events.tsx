// The Events tab: the project's events of the last 30 days, newest first, filtered by type, each
// one's JSON body (byte for byte what its webhook deliveries carry) viewable.
import { useEffect, useState } from "preact/hooks";
import { type Api, type CodexEvent, eventTypes } from "./api";
import { Dialog, FormError, Time } from "./ui";

export function EventsTab({ api, projectId }: { api: Api; projectId: string }) {
  const [items, setItems] = useState<CodexEvent[] | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState("");
  const [type, setType] = useState("");
  const [shown, setShown] = useState<CodexEvent | null>(null);

  async function load(after?: string) {
    setError("");
    try {
      const p = await api.events(projectId, type, after);
      setItems((xs) => (after ? [...(xs ?? []), ...p.data] : p.data));
      setHasMore(!!p.has_more);
    } catch (e) {
      setError((e as Error).message);
    }
  }
  useEffect(() => {
    setItems(null);
    load();
  }, [projectId, type]);

  return (
    <section aria-labelledby="events-heading">
      <div class="section-head">
        <h1 id="events-heading">Events</h1>
        <div class="field inline">
          <label for="event-type-filter">Type</label>
          <select id="event-type-filter" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">All types</option>
            {eventTypes.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <button type="button" onClick={() => load()}>
          Refresh
        </button>
      </div>
      <FormError error={error} />
      {items === null && !error && <p aria-busy="true">Loading events…</p>}
      {items?.length === 0 && (
        <p class="empty">
          {type ? `No ${type} events in the last 30 days.` : "No events in the last 30 days. Each checkout created, paid or expired adds one."}
        </p>
      )}
      {items && items.length > 0 && (
        <table class="list">
          <caption class="sr-only">Events{type ? ` of type ${type}` : ""}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Type</th>
              <th scope="col">Object</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {items.map((ev) => (
              <tr key={ev.id}>
                <td>
                  <button type="button" class="link" onClick={() => setShown(ev)}>
                    <code>{ev.id}</code>
                  </button>
                </td>
                <td>
                  <code>{ev.type}</code>
                </td>
                <td>
                  <code>{String(ev.data?.object?.id ?? "")}</code>
                </td>
                <td>
                  <Time iso={ev.created_at} exact />
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
      <Dialog open={shown !== null} title={shown ? `Event ${shown.type}` : "Event"} onDismiss={() => setShown(null)} class="wide">
        {shown && (
          <>
            <p>
              <code>{shown.id}</code>, <Time iso={shown.created_at} exact />. Its webhook deliveries carry this object, without the indentation.
            </p>
            <pre class="snippet json" tabIndex={0} aria-label={`JSON body of ${shown.id}`}>
              {JSON.stringify(shown, null, 2)}
            </pre>
            <div class="buttons">
              <button type="button" data-autofocus onClick={() => setShown(null)}>
                Close
              </button>
            </div>
          </>
        )}
      </Dialog>
    </section>
  );
}
