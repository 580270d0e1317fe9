// The dashboard: sign-in until there is a session, then a project's tabs. Routes live in the hash
// (#/p/<project>/<tab>) so that no page path can collide with the API's /projects routes on the
// same origin.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Api, type Project } from "./api";
import { ButtonsTab } from "./buttons";
import { CheckoutsTab } from "./checkouts";
import { Auth, AuthError, type Session, storedSession } from "./cognito";
import type { Config } from "./config";
import { KeysTab } from "./keys";
import { EventsTab } from "./events";
import { Dialog, Field, FormError, fieldErrors } from "./ui";
import { WebhooksTab } from "./webhooks";

const tabs = [
  { id: "keys", label: "API keys" },
  { id: "buttons", label: "Buy buttons" },
  { id: "checkouts", label: "Checkouts" },
  { id: "webhooks", label: "Webhooks" },
  { id: "events", label: "Events" },
] as const;
type TabId = (typeof tabs)[number]["id"];

function parseHash(): { project?: string; tab: TabId } {
  const m = /^#\/p\/(prj_[A-Za-z0-9]+)(?:\/([a-z]+))?/.exec(location.hash);
  const tab = tabs.find((t) => t.id === m?.[2])?.id ?? "keys";
  return { project: m?.[1], tab };
}

function useHash() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

export function App({ cfg }: { cfg: Config }) {
  const auth = useMemo(() => new Auth(cfg), [cfg]);
  const [session, setSession] = useState<Session | null>(storedSession);
  if (!session) return <SignIn auth={auth} cfg={cfg} onSession={setSession} />;
  return <Shell cfg={cfg} auth={auth} session={session} onSession={setSession} />;
}

function SignIn({ auth, cfg, onSession }: { auth: Auth; cfg: Config; onSession: (s: Session) => void }) {
  const [mode, setMode] = useState<"signin" | "signup" | "confirm">("signin");
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [mode]);

  async function run(fn: () => Promise<void>) {
    setBusy(true);
    setError("");
    try {
      await fn();
    } catch (e) {
      if (e instanceof AuthError && e.type === "UserNotConfirmedException") {
        setMode("confirm");
        setError("Confirm your account first: enter the code we emailed you.");
      } else setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }
  const signIn = async () => {
    const s = await auth.signIn(username, password);
    // The keys tab measures its first render from here (keys.tsx).
    performance.clearMarks("codex:signed-in");
    performance.clearMarks("codex:keys-rendered");
    performance.clearMeasures("codex:keys-first-render");
    performance.mark("codex:signed-in");
    onSession(s);
  };
  const titles = { signin: "Sign in to Codex", signup: "Create your Codex account", confirm: "Confirm your account" };

  return (
    <main class="auth" id="main">
      <h1 ref={heading} tabIndex={-1}>
        {titles[mode]}
      </h1>
      {mode === "signin" && (
        <form onSubmit={(e) => (e.preventDefault(), run(signIn))}>
          <Field label="Username" autoComplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
          <Field label="Password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
          <FormError error={error} />
          <button type="submit" class="primary" disabled={busy}>
            Sign in
          </button>
          <p>
            New to Codex?{" "}
            <button type="button" class="link" onClick={() => (setError(""), setMode("signup"))}>
              Create an account
            </button>
          </p>
        </form>
      )}
      {mode === "signup" && (
        <form
          onSubmit={(e) => (
            e.preventDefault(),
            run(async () => {
              await auth.signUp(username, email, password);
              setMode("confirm");
            })
          )}
        >
          <Field label="Username" autoComplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
          <Field label="Email" type="email" autoComplete="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} required />
          <Field
            label="Password"
            type="password"
            autoComplete="new-password"
            hint="At least 12 characters, with an upper-case letter, a lower-case letter and a digit."
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
          <FormError error={error} />
          <button type="submit" class="primary" disabled={busy}>
            Create account
          </button>
          <p>
            Have an account?{" "}
            <button type="button" class="link" onClick={() => (setError(""), setMode("signin"))}>
              Sign in
            </button>
          </p>
        </form>
      )}
      {mode === "confirm" && (
        <form
          onSubmit={(e) => (
            e.preventDefault(),
            run(async () => {
              await auth.confirm(username, code);
              if (password) await signIn();
              else setMode("signin");
            })
          )}
        >
          <p>We emailed a confirmation code to the address you gave{cfg.local ? " (on the local stack, any code is accepted)" : ""}.</p>
          <Field label="Username" autoComplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
          <Field label="Confirmation code" autoComplete="one-time-code" inputMode="numeric" value={code} onInput={(e) => setCode(e.currentTarget.value)} required />
          <FormError error={error} />
          <button type="submit" class="primary" disabled={busy}>
            Confirm
          </button>{" "}
          <button type="button" disabled={busy || !username} onClick={() => run(async () => void (await auth.resendCode(username)))}>
            Send a new code
          </button>
        </form>
      )}
    </main>
  );
}

function Shell({ cfg, auth, session, onSession }: { cfg: Config; auth: Auth; session: Session; onSession: (s: Session | null) => void }) {
  // One Api per sign-in; it refreshes the tokens itself and reports them here.
  const api = useMemo(() => new Api(cfg, auth, session, onSession), [session.refreshToken]);
  const route = useHash();
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState("");
  const [creating, setCreating] = useState(false);
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    api.projects().then(
      (p) => setProjects(p.data),
      (e) => setError(e.message),
    );
  }, [api]);
  useEffect(() => {
    if (projects?.length && !projects.some((p) => p.id === route.project)) {
      location.replace(`#/p/${projects[0].id}/${route.tab}`);
    }
  }, [projects, route.project]);

  // The project in the address is shown while the list loads, so that its tab's own request goes
  // out at once rather than after the list; if the list lacks it, the effect above moves on.
  const current = projects ? projects.find((p) => p.id === route.project) : route.project ? { id: route.project } : undefined;
  const added = (p: Project) => {
    setProjects((ps) => [p, ...(ps ?? [])]);
    setCreating(false);
    location.hash = `#/p/${p.id}/keys`;
  };

  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Codex</span>
        {projects && projects.length > 0 && (
          <div class="field inline">
            <label for="project-switch">Project</label>
            <select id="project-switch" value={route.project} onChange={(e) => (location.hash = `#/p/${e.currentTarget.value}/${route.tab}`)}>
              {projects.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </div>
        )}
        {projects && projects.length > 0 && (
          <button type="button" onClick={() => setCreating(true)}>
            New project
          </button>
        )}
        <span class="spacer" />
        <span class="user">{session.username}</span>
        <button
          type="button"
          onClick={async () => {
            onSession(null);
            await auth.signOut(session).catch(() => undefined);
          }}
        >
          Sign out
        </button>
      </header>
      {current && (
        <nav aria-label="Project sections" class="tabs">
          <ul>
            {tabs.map((t) => (
              <li key={t.id}>
                <a href={`#/p/${current.id}/${t.id}`} aria-current={t.id === route.tab ? "page" : undefined}>
                  {t.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <main id="main" ref={main} tabIndex={-1}>
        <FormError error={error} />
        {projects === null && !error && <p aria-busy="true">Loading projects…</p>}
        {projects?.length === 0 && (
          <section class="card narrow">
            <h1>Create your first project</h1>
            <p>A project holds your API keys, buy buttons, checkouts and webhooks. You can make more later.</p>
            <NewProjectForm api={api} onCreated={added} />
          </section>
        )}
        {current && route.tab === "keys" && <KeysTab key={current.id} api={api} projectId={current.id} />}
        {current && route.tab === "buttons" && <ButtonsTab key={current.id} api={api} cfg={cfg} projectId={current.id} />}
        {current && route.tab === "checkouts" && <CheckoutsTab key={current.id} api={api} projectId={current.id} />}
        {current && route.tab === "webhooks" && <WebhooksTab key={current.id} api={api} projectId={current.id} />}
        {current && route.tab === "events" && <EventsTab key={current.id} api={api} projectId={current.id} />}
      </main>
      <Dialog open={creating} title="New project" onDismiss={() => setCreating(false)}>
        <NewProjectForm api={api} onCreated={added} onCancel={() => setCreating(false)} />
      </Dialog>
    </>
  );
}

function NewProjectForm({ api, onCreated, onCancel }: { api: Api; onCreated: (p: Project) => void; onCancel?: () => void }) {
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  return (
    <form
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setErrors({});
        try {
          onCreated(await api.createProject(name));
        } catch (err) {
          setErrors(fieldErrors(err, { name: "Project name" }));
        } finally {
          setBusy(false);
        }
      }}
    >
      <Field label="Project name" hint="Your shop or app, like 'My shop'." value={name} onInput={(e) => setName(e.currentTarget.value)} error={errors.name} required />
      <FormError error={errors[""]} />
      <div class="buttons">
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Create project
        </button>
      </div>
    </form>
  );
}
