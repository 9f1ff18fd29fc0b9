import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from './components.tsx';
import { AccessLogPage } from './pages/access-log.tsx';
import { DataPage } from './pages/data.tsx';
import { KeysPage } from './pages/keys.tsx';
import { UsagePage } from './pages/usage.tsx';
import { WebhooksPage } from './pages/webhooks.tsx';
import { allows } from './scopes.ts';
import { clearSecret, type Identity, identify, storedSecret, storeSecret } from './session.ts';
import './styles.css';

// Each page with the scope its first call needs: pages the key's known scopes do not allow are not offered.
const PAGES = [
  { path: 'keys', title: 'Keys', scope: 'api-keys:read' },
  { path: 'usage', title: 'Usage', scope: 'usage:read' },
  { path: 'access-log', title: 'Access log', scope: 'usage:read' },
  { path: 'data', title: 'Data', scope: 'modules:read' },
  { path: 'webhooks', title: 'Webhooks', scope: 'webhooks:read' },
] as const;
type PagePath = (typeof PAGES)[number]['path'];

/** `#/usage?key_id=…` → the page and its parameters; the hash keeps pages linkable without server routes. */
function readRoute(): { page: PagePath | undefined; params: URLSearchParams } {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { page: PAGES.find((p) => p.path === path)?.path, params: new URLSearchParams(query) };
}

function useRoute() {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const onChange = () => setRoute(readRoute());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function SignIn({ onSignedIn, initialError }: { onSignedIn: (identity: Identity) => void; initialError: unknown }) {
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<unknown>(initialError);
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to the Charter console</h1>
      <p>Paste an API key. It stays in this tab only (session storage) and is removed when you sign out or close the tab.</p>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const identity = await identify(secret.trim());
            storeSecret(identity.secret);
            onSignedIn(identity);
          } catch (caught) {
            setError(caught);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="secret">API key</label>
        <input id="secret" type="password" autocomplete="off" spellcheck={false} required placeholder="sk_live_…" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      {error !== null && <ErrorNotice error={error} />}
    </main>
  );
}

function Shell({ identity, onSignOut }: { identity: Identity; onSignOut: () => void }) {
  const route = useRoute();
  const offered = PAGES.filter((p) => allows(identity.scopes, p.scope));
  const page = route.page ?? offered[0]?.path ?? 'keys';
  const { params } = route;
  const current = PAGES.find((p) => p.path === page)!;
  const title = current.title;
  useEffect(() => {
    document.title = `${title} · Charter console`;
  }, [title]);
  const key = identity.key;
  return (
    <>
      {/* A button, not a link: the hash holds the page's route. */}
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header>
        <p class="brand">Charter console</p>
        <nav aria-label="Pages">
          <ul>
            {offered.map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={p.path === page ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span data-testid="workspace">
            Workspace: {identity.workspace.name} <code>{identity.workspace.id}</code>
          </span>
          <span>
            {`${key.name} (${key.prefix}…${key.last4})`} · {identity.mode}
            {identity.secretInGrace && ' · previous secret, in its grace period'}
          </span>
          <span class="scopes" data-testid="own-scopes">
            Scopes: {identity.scopes.join(', ')}
          </span>
          <button type="button" class="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{title}</h1>
        {!allows(identity.scopes, current.scope) ? (
          <p>
            This key cannot open this page: it needs the scope <code>{current.scope}</code>.
          </p>
        ) : (
          <>
            {page === 'keys' && <KeysPage identity={identity} />}
            {page === 'usage' && <UsagePage identity={identity} params={params} />}
            {page === 'access-log' && <AccessLogPage identity={identity} params={params} />}
            {page === 'data' && <DataPage identity={identity} />}
            {page === 'webhooks' && <WebhooksPage identity={identity} params={params} />}
          </>
        )}
      </main>
    </>
  );
}

function App() {
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [restoring, setRestoring] = useState(() => storedSecret() !== null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const secret = storedSecret();
    if (!secret) return;
    identify(secret)
      .then(setIdentity)
      .catch((caught) => {
        clearSecret();
        setError(caught);
      })
      .finally(() => setRestoring(false));
  }, []);
  if (restoring) return <main id="main" aria-busy="true"><p>Signing in…</p></main>;
  if (!identity)
    return <SignIn onSignedIn={setIdentity} initialError={error} />;
  return (
    <Shell
      identity={identity}
      onSignOut={() => {
        clearSecret();
        setIdentity(null);
        location.hash = '';
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
