import type { KeyUsage } from '@charter/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ErrorNotice, fromLocalInput, toLocalInput } from '../components.tsx';
import type { Identity } from '../session.ts';
import { KeyPicker, useKeyList } from './key-picker.tsx';

type Granularity = 'minute' | 'hour' | 'day';
const PRESETS: Array<{ label: string; granularity: Granularity; spanMs: number }> = [
  { label: 'Last hour, per minute', granularity: 'minute', spanMs: 3600_000 },
  { label: 'Last 24 hours, per hour', granularity: 'hour', spanMs: 24 * 3600_000 },
  { label: 'Last 30 days, per day', granularity: 'day', spanMs: 30 * 24 * 3600_000 },
];
const REQUESTS_COLOUR = '#1d4ed8';
const ERRORS_COLOUR = '#b91c1c';

export function UsagePage({ identity, params }: { identity: Identity; params: URLSearchParams }) {
  const keys = useKeyList(identity);
  const [keyId, setKeyId] = useState(params.get('key_id') ?? identity.key?.id ?? '');
  const [granularity, setGranularity] = useState<Granularity>('minute');
  const [since, setSince] = useState(() => toLocalInput(new Date(Date.now() - 3600_000)));
  const [until, setUntil] = useState('');
  const [usage, setUsage] = useState<KeyUsage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loads, setLoads] = useState(0);

  useEffect(() => {
    if (!keyId) return;
    let live = true;
    setError(null);
    identity.client
      .GET('/api-keys/{key_id}/usage', {
        params: { path: { key_id: keyId }, query: { granularity, since: fromLocalInput(since), until: fromLocalInput(until) } },
      })
      .then(({ data }) => {
        if (live) setUsage(data);
      })
      .catch((caught) => {
        if (!live) return;
        setUsage(null);
        setError(caught);
      });
    return () => {
      live = false;
    };
  }, [keyId, loads]);

  return (
    <section aria-labelledby="usage-heading">
      <h2 id="usage-heading">Requests and errors of one key</h2>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setLoads((n) => n + 1);
        }}
      >
        <div>
          <KeyPicker id="usage-key" label="Key" keys={keys} value={keyId} onChange={setKeyId} />
        </div>
        <div>
          <label for="usage-granularity">Per</label>
          <select id="usage-granularity" value={granularity} onChange={(e) => setGranularity(e.currentTarget.value as Granularity)}>
            <option value="minute">minute</option>
            <option value="hour">hour</option>
            <option value="day">day</option>
          </select>
        </div>
        <div>
          <label for="usage-since">From</label>
          <input id="usage-since" type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </div>
        <div>
          <label for="usage-until">Until (empty: now)</label>
          <input id="usage-until" type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        </div>
        <div class="buttons">
          <button type="submit">Show</button>
        </div>
      </form>
      <fieldset class="presets">
        <legend class="visually-hidden">Ranges</legend>
        {PRESETS.map((preset) => (
          <button
            key={preset.label}
            type="button"
            class="secondary small"
            onClick={() => {
              setGranularity(preset.granularity);
              setSince(toLocalInput(new Date(Date.now() - preset.spanMs)));
              setUntil('');
              setLoads((n) => n + 1);
            }}
          >
            {preset.label}
          </button>
        ))}
      </fieldset>
      {!keyId && <p>Choose a key to see its usage.</p>}
      {error !== null && <ErrorNotice error={error} />}
      {usage && <UsageChart usage={usage} />}
    </section>
  );
}

function UsageChart({ usage }: { usage: KeyUsage }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const data: uPlot.AlignedData = [
      usage.data.map((bucket) => Date.parse(bucket.start) / 1000),
      usage.data.map((bucket) => bucket.requests),
      usage.data.map((bucket) => bucket.errors),
    ];
    const plot = new uPlot(
      {
        width: Math.max(320, element.clientWidth),
        height: 300,
        legend: { show: false },
        cursor: { show: true },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{}, { label: 'calls' }],
        series: [
          {},
          { label: 'Requests', stroke: REQUESTS_COLOUR, width: 2, points: { show: true, size: 6 } },
          { label: 'Errors', stroke: ERRORS_COLOUR, width: 2, points: { show: true, size: 6 } },
        ],
      },
      data,
      element,
    );
    return () => plot.destroy();
  }, [usage]);
  const summary = `${usage.total_requests} requests, ${usage.total_errors} of them errors, counted per ${usage.granularity} from ${new Date(usage.since).toLocaleString()} to ${new Date(usage.until).toLocaleString()}`;
  return (
    <figure class="chart">
      <div ref={container} role="img" aria-label={`Chart of ${summary}`} data-testid="usage-chart" data-points={usage.data.length} />
      <figcaption>
        <span class="legend-requests">■ Requests</span> <span class="legend-errors">■ Errors</span>
        <span data-testid="usage-summary"> {summary}.</span>
      </figcaption>
    </figure>
  );
}
