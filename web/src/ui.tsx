// The pieces every tab uses: a modal dialog that takes focus and gives it back, a labelled field
// with its hint and error, a <time> with the exact timestamp on hover, and a Copy button that says
// "Copied" to screen readers too.
import type { ComponentChildren, InputHTMLAttributes, SelectHTMLAttributes } from "preact";
import { useEffect, useId, useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";

interface DialogProps {
  open: boolean;
  title: string;
  /** onDismiss runs on Escape (the dialog stays open unless it closes it). */
  onDismiss: () => void;
  /** returnFocus gives the element to focus on close when the opener is gone. */
  returnFocus?: () => HTMLElement | null;
  children: ComponentChildren;
  class?: string;
}

/** Dialog is a native modal <dialog>: the page behind it is inert, focus moves into it when it
 * opens (to the [data-autofocus] element, else its first control) and back to what opened it when
 * it closes. */
export function Dialog({ open, title, onDismiss, returnFocus, children, class: cls }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current!;
    if (open && !d.open) {
      opener.current = document.activeElement as HTMLElement | null;
      d.showModal();
      focusFirst(d);
    } else if (!open && d.open) {
      d.close();
      const back = opener.current?.isConnected ? opener.current : returnFocus?.();
      back?.focus();
    }
  }, [open]);
  return (
    <dialog
      ref={ref}
      class={cls}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onDismiss();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      {open && children}
    </dialog>
  );
}

/** focusFirst focuses el's [data-autofocus] element, else its first form control. */
export function focusFirst(el: HTMLElement) {
  const target = el.querySelector<HTMLElement>("[data-autofocus]") ?? el.querySelector<HTMLElement>("input, select, textarea, button");
  target?.focus();
}

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "label"> {
  label: string;
  hint?: ComponentChildren;
  error?: string;
  as?: "input" | "select";
  children?: ComponentChildren;
}

/** Field is a labelled input (or select) with its hint and the error the API gave for it, both
 * tied to it with aria-describedby. */
export function Field({ label, hint, error, as = "input", children, ...rest }: FieldProps) {
  const id = useId();
  const describedBy = [hint && id + "-hint", error && id + "-error"].filter(Boolean).join(" ") || undefined;
  const common = { id, "aria-describedby": describedBy, "aria-invalid": error ? ("true" as const) : undefined };
  return (
    <div class={"field" + (error ? " invalid" : "")}>
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={id + "-hint"}>
          {hint}
        </p>
      )}
      {as === "select" ? (
        <select {...(rest as SelectHTMLAttributes<HTMLSelectElement>)} {...common}>
          {children}
        </select>
      ) : (
        <input {...rest} {...common} />
      )}
      {error && (
        <p class="error" id={id + "-error"}>
          {error}
        </p>
      )}
    </div>
  );
}

/** FormError shows an error that names no field (or one the form does not have). */
export function FormError({ error }: { error?: string }) {
  return error ? (
    <p class="error form-error" role="alert">
      {error}
    </p>
  ) : null;
}

/** fieldErrors turns an ApiError into the message of the field its param names, or of the form
 * ("" key) when it names none of fields. fields maps each param to its label, which replaces the
 * param's name at the start of the API's message ("success_url must use https" becomes "Success
 * URL must use https."). */
export function fieldErrors(e: unknown, fields: Record<string, string>): Record<string, string> {
  if (e instanceof ApiError) {
    const label = e.param ? fields[e.param] : undefined;
    if (e.param && label) {
      const plain = e.message.toLowerCase().startsWith(e.param.toLowerCase()) ? label + e.message.slice(e.param.length) : e.message;
      return { [e.param]: plain };
    }
    return { "": e.message };
  }
  return { "": e instanceof Error ? e.message : String(e) };
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const exactFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

/** Time is a date (with exact, a date and time), with the exact timestamp on hover (title) and
 * for machines (datetime). */
export function Time({ iso, exact }: { iso: string; exact?: boolean }) {
  const d = new Date(iso);
  return (
    <time dateTime={iso} title={exactFmt.format(d)}>
      {(exact ? dateTimeFmt : dateFmt).format(d)}
    </time>
  );
}

/** CopyButton copies text to the clipboard and says "Copied" next to itself, in a live region. */
export function CopyButton({ text, label = "Copy", onCopied, autofocus }: { text: string; label?: string; onCopied?: () => void; autofocus?: boolean }) {
  const [state, setState] = useState<"" | "Copied" | "Copy failed: select the text and copy it by hand">("");
  return (
    <span class="copy">
      <button
        type="button"
        data-autofocus={autofocus ? "" : undefined}
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(text);
            setState("Copied");
            onCopied?.();
          } catch {
            setState("Copy failed: select the text and copy it by hand");
          }
        }}
      >
        {label}
      </button>
      <span class="copy-status" role="status" aria-live="polite">
        {state}
      </span>
    </span>
  );
}

/** announce says msg to screen readers through the page's live region. */
export function announce(msg: string) {
  const r = document.getElementById("announcer");
  if (!r) return;
  r.textContent = "";
  setTimeout(() => (r.textContent = msg), 50);
}

export function TrashIcon() {
  return (
    <svg aria-hidden="true" width="16" height="16" viewBox="0 0 16 16" focusable="false">
      <path
        fill="currentColor"
        d="M6 1h4l1 1h3v2H2V2h3l1-1zm-3 4h10l-1 10H4L3 5zm3 2v6h1V7H6zm3 0v6h1V7H9z"
      />
    </svg>
  );
}

interface ShownOnceProps {
  /** id of the read-only input that holds the secret (the browser tests find it by id). */
  id: string;
  label: string;
  secret: string;
  /** what the secret is, in the warnings: "key", "signing secret". */
  what: string;
  warning: ComponentChildren;
  copied: boolean;
  confirming: boolean;
  onCopied: () => void;
  /** onDone asks to close: the parent confirms first when nothing was copied (see dismissShownOnce). */
  onDone: () => void;
  onBack: () => void;
  onDiscard: () => void;
}

/** ShownOnce is the body of a dialog that shows a secret the API returns only once (an API key, a
 * webhook signing secret): the warning, the value with Copy, and, when the user closes without
 * copying, a confirmation. Its parent holds the state so that Escape on the dialog confirms too. */
export function ShownOnce(p: ShownOnceProps) {
  const body = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    // Each step takes the focus, before it is painted (so never on the page's body in between):
    // the Copy button, then the confirmation.
    body.current?.querySelector<HTMLElement>("[data-autofocus]")?.focus();
  }, [p.confirming]);
  return (
    <div ref={body}>
      {!p.confirming ? (
        <>
          <p class="warning">{p.warning}</p>
          <div class="secret-row">
            <label for={p.id}>{p.label}</label>
            <input id={p.id} class="secret" readOnly value={p.secret} spellcheck={false} autoComplete="off" />
            <CopyButton text={p.secret} onCopied={p.onCopied} autofocus />
          </div>
          <div class="buttons">
            <button type="button" class={p.copied ? "primary" : ""} onClick={p.onDone}>
              Done
            </button>
          </div>
        </>
      ) : (
        <>
          <p class="warning" role="alert">
            You have not copied the {p.what}. If you close now it is gone for good, and you will have to create another one.
          </p>
          <div class="buttons">
            <button type="button" data-autofocus onClick={p.onBack}>
              Back to the {p.what}
            </button>
            <button type="button" class="danger" onClick={p.onDiscard}>
              Close without copying
            </button>
          </div>
        </>
      )}
    </div>
  );
}

// useProjectList loads a list of the project's (keys, buttons, endpoints) when the project changes:
// null while loading, the load's error message if it fails. The setters let a tab change the list
// in place after a create, an edit or a delete, and report an action's failure where a load's goes.
export function useProjectList<T>(load: (projectId: string) => Promise<{ data: T[] }>, projectId: string) {
  const [items, setItems] = useState<T[] | null>(null);
  const [loadError, setLoadError] = useState("");
  useEffect(() => {
    setItems(null);
    load(projectId).then(
      (p) => setItems(p.data),
      (e) => setLoadError(e.message),
    );
  }, [projectId]);
  return [items, setItems, loadError, setLoadError] as const;
}
