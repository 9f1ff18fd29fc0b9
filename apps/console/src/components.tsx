import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { describeProblem } from './errors.ts';

/** Copies `text` to the clipboard and says so to screen readers too. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <span class="copy">
      <button
        type="button"
        class="secondary small"
        aria-label={label}
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(text);
            setState('copied');
          } catch {
            setState('failed');
          }
        }}
      >
        Copy
      </button>
      <span role="status" class="copy-state">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text instead' : ''}
      </span>
    </span>
  );
}

/** An API error in plain words, its request ID and, for a 429, when to try again. */
export function ErrorNotice({ error }: { error: unknown }) {
  const problem = describeProblem(error);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!problem.retryAt || problem.retryAt.getTime() <= Date.now()) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [problem.retryAt?.getTime()]);
  const wait = problem.retryAt ? Math.max(0, Math.ceil((problem.retryAt.getTime() - now) / 1000)) : 0;
  return (
    <div class="error" role="alert">
      <p>
        <strong>{problem.summary}</strong> {problem.detail}
      </p>
      {problem.fields.length > 0 && (
        <ul>
          {problem.fields.map(([field, messages]) => (
            <li key={field}>{messages.join(' ')}</li>
          ))}
        </ul>
      )}
      {problem.retryAt && (
        <p class="retry">
          {wait > 0 ? `Try again at ${whenShown(problem.retryAt)} (in ${wait} s).` : 'You can try again now.'}
        </p>
      )}
      {problem.requestId && (
        <p class="request-id">
          Request ID <code>{problem.requestId}</code> <CopyButton text={problem.requestId} label={`Copy request ID ${problem.requestId}`} />
        </p>
      )}
    </div>
  );
}

/** A modal dialog: focus stays inside, Escape closes it, focus returns where it was. */
export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    ref.current?.showModal();
    return () => opener?.focus();
  }, []);
  const id = `dialog-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog
      ref={ref}
      aria-labelledby={id}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <h2 id={id}>{title}</h2>
      {children}
    </dialog>
  );
}

/** A secret to show once, in the dialog's title, with a note under the warning. */
export interface ShownSecret {
  title: string;
  secret: string;
  note?: string;
}

/** A secret shown once (an API key's, a webhook endpoint's), with a copy button and a warning. */
export function SecretDialog({ title, secret, note, onClose }: ShownSecret & { onClose: () => void }) {
  return (
    <Modal title={title} onClose={onClose}>
      <p class="warning">
        <strong>Copy this secret now.</strong> It is shown once and cannot be shown again; afterwards only its first and last characters are visible.
      </p>
      {note && <p>{note}</p>}
      <p>
        <code class="secret" data-testid="new-secret">
          {secret}
        </code>
      </p>
      <p>
        <CopyButton text={secret} label="Copy the secret" />
      </p>
      <button type="button" onClick={onClose}>
        I have stored it
      </button>
    </Modal>
  );
}

/** A time today as a time of day; on another day with its date. */
function whenShown(at: Date): string {
  return at.toDateString() === new Date().toDateString() ? at.toLocaleTimeString() : at.toLocaleString();
}

export function formatTime(value: string | null | undefined): string {
  if (!value) return '—';
  return new Date(value).toLocaleString();
}

/** `datetime-local` input value → ISO 8601 (UTC), or undefined when empty. */
export function fromLocalInput(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

/** A Date → a `datetime-local` input value in the browser's time zone. */
export function toLocalInput(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** A filter's select: "any" (the empty value) first, then each option. */
export function AnySelect<T extends string>({ id, value, options, onChange }: { id: string; value: T | ''; options: readonly T[]; onChange: (value: T | '') => void }) {
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value as T | '')}>
      <option value="">any</option>
      {options.map((option) => (
        <option key={option} value={option}>
          {option}
        </option>
      ))}
    </select>
  );
}

/** A group of checkboxes choosing a subset of `options` (scopes, event patterns), in the order they were picked. */
export function CheckboxGroup<T extends string>({ legend, options, picked, onChange }: { legend: string; options: readonly T[]; picked: readonly T[]; onChange: (update: (list: T[]) => T[]) => void }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      <div class="scope-grid">
        {options.map((option) => (
          <label key={option} class="check">
            <input
              type="checkbox"
              value={option}
              checked={picked.includes(option)}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                onChange((list) => (on ? [...list, option] : list.filter((item) => item !== option)));
              }}
            />
            {option}
          </label>
        ))}
      </div>
    </fieldset>
  );
}
