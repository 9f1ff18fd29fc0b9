export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Rate-limit windows are calendar minutes, and a busy machine may spend any time on a sequence of
 * requests. Runs `attempt`, which starts from a fresh allowance (a new key, cleared counters) and
 * returns every answer it got, and runs it again when those answers were counted in more than one
 * window (their X-RateLimit-Reset differ): the next attempt starts in the window just begun. What the
 * caller then asserts holds whatever the clock did; after three attempts it gets the last answers.
 */
export async function inOneWindow<T extends { headers: Headers }>(attempt: () => Promise<T[]>): Promise<T[]> {
  for (let tries = 1; ; tries++) {
    const answers = await attempt();
    const windows = new Set(answers.map((answer) => answer.headers.get('x-ratelimit-reset')));
    if (windows.size <= 1 || tries === 3) return answers;
  }
}
