/** Deliveries that failed (another attempt is scheduled), are dead or undeliverable (no more attempts) or are being retried, with a retry button. */
import { get, post, type Delivery } from './api.ts'
import { dateTime } from './format.ts'
import { ErrorText, useAction, useLoad } from './ui.tsx'

export function DeliveriesPage() {
  const deliveries = useLoad(
    async () => {
      const [dead, failed, undeliverable, pending] = await Promise.all(
        ['dead', 'failed', 'undeliverable', 'pending'].map((status) => get<Delivery[]>(`/v1.1/deliveries?status=${status}`)),
      )
      // pending after a failure: a retry on its way
      return [...dead!, ...undeliverable!, ...failed!, ...pending!.filter((d) => d.attempts.length > 0)]
    },
    [],
  )
  const [busy, error, act] = useAction()
  return (
    <>
      <h1>Failed deliveries</h1>
      <p>E-mails, SMS, HTTP pushes and commands that rules and jobs asked for and that did not get through.</p>
      <button type="button" onClick={deliveries.reload}>Refresh</button>
      <ErrorText error={deliveries.error ?? error} />
      {deliveries.data?.length === 0 ? <p>None: everything got through.</p> : null}
      <ul class="cards" id="deliveries">
        {(deliveries.data ?? []).map((d) => {
          const last = d.attempts[d.attempts.length - 1]
          return (
            <li class="card" data-delivery-id={d.id} key={d.id}>
              <h3>{d.channel} to {d.target} <span class="badge off">{d.status}</span></h3>
              <p>From the {d.cause.type} {d.cause.title} ({d.cause.effect}); {d.attempts.length} attempt(s){last ? `, the last at ${dateTime(last.at)}: ${last.error ?? last.outcome}` : ''}.</p>
              {d.reason ? <p>{d.reason}</p> : null}
              {d.next_attempt_at ? <p>Next attempt: {dateTime(d.next_attempt_at)}</p> : null}
              <button type="button" disabled={busy} onClick={() => void act(async () => { await post(`/v1.1/deliveries/${d.id}/retry`); deliveries.reload() })}>
                Retry
              </button>
            </li>
          )
        })}
      </ul>
    </>
  )
}
