/** Jobs: each with its schedule and next run, pause/resume, delete, its runs and their outcomes; a form for a repeating job. */
import { useState } from 'preact/hooks'
import { del, get, post, put, type Job, type JobRun, type Thing } from './api.ts'
import { browserTimeZone, dateTime } from './format.ts'
import { ErrorText, Section, useAction, useLoad } from './ui.tsx'

/** An instant (ending in Z or an offset) in the browser's words; a wall-clock time as written. */
const startText = (start: string): string => (/(Z|[+-]\d\d:?\d\d)$/.test(start) ? dateTime(start) : start)

function Runs({ jobId }: { jobId: string }) {
  const runs = useLoad(() => get<JobRun[]>(`/v1.1/jobs/${jobId}/runs?limit=20`), [jobId])
  if (runs.error) return <ErrorText error={runs.error} />
  if (!runs.data) return <p role="status">Loading…</p>
  if (runs.data.length === 0) return <p class="muted">No runs yet.</p>
  return (
    <ul class="runs">
      {runs.data.map((run) => (
        <li>
          {dateTime(run.occurrence)}: {run.status} ({run.reason.replace('_', ' ')})
          {run.outcomes.length > 0 ? (
            <ul>{run.outcomes.map((o) => <li>{o.effect} → {o.target}: {o.status}{o.reason ? ` (${o.reason})` : ''}</li>)}</ul>
          ) : null}
        </li>
      ))}
    </ul>
  )
}

function NewJob({ things, created }: { things: Thing[]; created: () => void }) {
  const [title, setTitle] = useState('')
  const [every, setEvery] = useState('1')
  const [unit, setUnit] = useState('hour')
  const [thingId, setThingId] = useState('')
  const [channel, setChannel] = useState('1')
  const [value, setValue] = useState('1')
  const [busy, error, act] = useAction()
  const chosen = thingId || things[0]?.id || ''
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault()
        void act(async () => {
          const number = Number(value)
          await post('/v1.1/jobs', {
            title,
            config: { type: 'interval', interval: Number(every), unit, start_date: new Date(Date.now() + 60_000).toISOString(), tz: browserTimeZone() },
            actions: [{ thing_id: chosen, channel, value: Number.isFinite(number) && value.trim() !== '' ? number : value }],
          })
          setTitle('')
          created()
        })
      }}
    >
      <label for="job-title">Name</label>
      <input id="job-title" type="text" maxLength={255} required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      <label for="job-interval">Every</label>
      <input id="job-interval" type="number" min={1} required value={every} onInput={(e) => setEvery(e.currentTarget.value)} />
      <label for="job-unit">Unit</label>
      <select id="job-unit" value={unit} onChange={(e) => setUnit(e.currentTarget.value)}>
        {['minute', 'hour', 'day', 'week', 'month'].map((u) => <option value={u}>{u}s</option>)}
      </select>
      <label for="job-thing">Send a command to</label>
      <select id="job-thing" required value={chosen} onChange={(e) => setThingId(e.currentTarget.value)}>
        {things.map((t) => <option value={t.id}>{t.name}</option>)}
      </select>
      <label for="job-channel">Channel</label>
      <input id="job-channel" type="number" min={0} required value={channel} onInput={(e) => setChannel(e.currentTarget.value)} />
      <label for="job-value">Value</label>
      <input id="job-value" type="text" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      <button type="submit" disabled={busy || things.length === 0}>Create job</button>
      <ErrorText error={error} />
    </form>
  )
}

export function JobsPage() {
  const jobs = useLoad(() => get<Job[]>('/v1.1/jobs'), [])
  const things = useLoad(() => get<Thing[]>('/v1.1/things'), [])
  const [open, setOpen] = useState<string | null>(null)
  const [busy, error, act] = useAction()
  return (
    <>
      <h1>Jobs</h1>
      <ErrorText error={jobs.error ?? error} />
      {jobs.data?.length === 0 ? <p>No jobs yet.</p> : null}
      <ul class="cards" id="jobs">
        {(jobs.data ?? []).map((job) => (
          <li class="card" data-job-id={job._id} key={job._id}>
            <h3>{job.title || 'Untitled job'} <span class={job.active ? 'badge on' : 'badge off'}>{job.active ? 'active' : 'paused'}</span></h3>
            <p>
              {job.config.type === 'interval'
                ? `Every ${job.config.interval} ${job.config.unit}(s) from ${startText(job.config.start_date)} (${job.config.tz})`
                : `Once, at ${startText(job.config.start_date)} (${job.config.tz})`}
            </p>
            <p>Next run: <span class="next-run">{job.next_runtime ? dateTime(job.next_runtime) : 'none'}</span></p>
            <button type="button" disabled={busy} onClick={() => void act(async () => { await put(`/v1.1/jobs/${job._id}`, { config: job.config, active: !job.active }); jobs.reload() })}>
              {job.active ? 'Pause' : 'Resume'}
            </button>{' '}
            <button type="button" aria-expanded={open === job._id} onClick={() => setOpen(open === job._id ? null : job._id)}>Runs</button>{' '}
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() => {
                if (confirm(`Delete the job ${job.title}?`)) void act(async () => { await del(`/v1.1/jobs/${job._id}`); jobs.reload() })
              }}
            >
              Delete
            </button>
            {open === job._id ? <Runs jobId={job._id} /> : null}
          </li>
        ))}
      </ul>
      <Section title="New job">
        <NewJob things={things.data ?? []} created={jobs.reload} />
      </Section>
    </>
  )
}
