import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorNotice, Modal } from './components.tsx';

/**
 * A call the person started: `busy` while it runs (its button is disabled, so a double click does
 * not send it twice), and what it failed with, shown until the next try.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function run(action: () => Promise<void>): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, run };
}

/**
 * A dialog around a form: its fields, then the error of the last try, a submit button (disabled while the call runs or
 * while `disabled`) and Cancel.
 */
export function FormDialog({
  title,
  submitLabel,
  disabled,
  onSubmit,
  onClose,
  children,
}: {
  title: string;
  submitLabel: string;
  disabled?: boolean;
  onSubmit: () => Promise<void>;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const { busy, error, run } = useAction();
  return (
    <Modal title={title} onClose={onClose}>
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          void run(onSubmit);
        }}
      >
        {children}
        {error !== null && <ErrorNotice error={error} />}
        <div class="buttons">
          <button type="submit" disabled={busy || disabled === true}>
            {submitLabel}
          </button>
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Asks before something that cannot be undone (revoking a key, deleting an endpoint): `children` says what it does. */
export function ConfirmDialog({
  title,
  confirmLabel,
  onConfirm,
  onClose,
  children,
}: {
  title: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const { busy, error, run } = useAction();
  return (
    <Modal title={title} onClose={onClose}>
      <p>{children}</p>
      {error !== null && <ErrorNotice error={error} />}
      <div class="buttons">
        <button type="button" class="danger" disabled={busy} onClick={() => run(onConfirm)}>
          {confirmLabel}
        </button>
        <button type="button" class="secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Modal>
  );
}

const GRACE_HOURS = [
  { hours: 1, label: '1 hour' },
  { hours: 24, label: '24 hours' },
  { hours: 72, label: '3 days' },
  { hours: 168, label: '7 days' },
];

/**
 * Rotating a secret (an API key's, a webhook endpoint's): `children` explains it, then how long
 * the previous secret keeps working (0 h to 7 days, 24 h picked). `noGrace` names the choice of none.
 */
export function RotateSecretDialog({
  title,
  selectId,
  noGrace,
  submitLabel,
  onRotate,
  onClose,
  children,
}: {
  title: string;
  selectId: string;
  noGrace: string;
  submitLabel: string;
  onRotate: (graceHours: number) => Promise<void>;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const [hours, setHours] = useState(24);
  return (
    <FormDialog title={title} submitLabel={submitLabel} onSubmit={() => onRotate(hours)} onClose={onClose}>
      <p>{children}</p>
      <label for={selectId}>Grace period for the previous secret</label>
      <select id={selectId} value={String(hours)} onChange={(e) => setHours(Number(e.currentTarget.value))}>
        {[{ hours: 0, label: noGrace }, ...GRACE_HOURS].map((choice) => (
          <option key={choice.hours} value={String(choice.hours)}>
            {choice.label}
          </option>
        ))}
      </select>
    </FormDialog>
  );
}
