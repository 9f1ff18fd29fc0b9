// What the page shows or hides by scope. The server enforces the same grammar (contracts/src/scopes.ts);
// this copy only decides what to display, and a wrong guess still gets the server's 403.

export const RESOURCES = ['modules', 'records', 'api-keys', 'usage', 'webhooks'] as const;
export const ACTIONS = ['read', 'write', 'delete'] as const;

/** Whether `granted` allows `required` (`<resource>:<action>`); null scopes (unknown) allow, and the API decides. */
export function allows(granted: readonly string[] | null, required: string): boolean {
  if (granted === null) return true;
  const [needResource, needAction] = required.split(':');
  return granted.some((have) => {
    if (have === '*') return true;
    const [resource, action, id] = have.split(':');
    if (resource !== needResource) return false;
    if (action === '*') return id === undefined;
    return action === needAction && id === undefined;
  });
}

function covers(have: string, want: string): boolean {
  if (have === '*') return true;
  if (want === '*') return false;
  const [hr, ha, hid] = have.split(':');
  const [wr, wa, wid] = want.split(':');
  if (hr !== wr) return false;
  if (ha === '*') return hid === undefined;
  if (wa === '*' || ha !== wa) return false;
  return hid === undefined || hid === wid;
}

/** Scopes a key holding `held` may give a new key: everything its own scopes cover. */
export function grantable(held: readonly string[]): string[] {
  const candidates = ['*', ...RESOURCES.flatMap((r) => [`${r}:*`, ...ACTIONS.map((a) => `${r}:${a}`)]), ...held];
  return [...new Set(candidates)].filter((want) => held.some((have) => covers(have, want)));
}
