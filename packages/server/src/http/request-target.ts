/**
 * The request target as a URL, or undefined when it cannot be one. A target such as `//%%/x` is a
 * path, but `new URL(target, base)` reads what follows `//` as a host and throws: the listener
 * threw outside any promise and the process died. So a path is appended to the base, never resolved.
 */
export function requestUrl(target: string | undefined): URL | undefined {
  const raw = target ?? '/';
  try {
    return new URL(raw.startsWith('/') ? `http://localhost${raw}` : raw, 'http://localhost');
  } catch {
    return undefined;
  }
}
