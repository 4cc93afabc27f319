/**
 * A thing's live readings: GET /v1.1/things/{id}/stream read with fetch (EventSource
 * cannot send the bearer token, and a token must not go in the URL), parsed with
 * eventsource-parser. After a dropped connection it reconnects after the server's
 * `retry:` and resumes with Last-Event-ID, so no reading is missed or repeated.
 */
import { createParser } from 'eventsource-parser'
import { authorizedFetch, type Reading } from './api.ts'

export type LiveState = 'connecting' | 'live' | 'reconnecting'

/**
 * `onGap` is called when the stream (re)connects with nothing to resume from (before its
 * first reading): readings sent before then are not replayed, so the page reloads them.
 */
export function followReadings(
  thingId: string,
  onReading: (reading: Reading) => void,
  onState: (state: LiveState) => void,
  onGap: () => void,
): () => void {
  const stop = new AbortController()
  let lastEventId: string | undefined
  let retryMs = 3000
  const run = async (): Promise<void> => {
    while (!stop.signal.aborted) {
      try {
        const response = await authorizedFetch(`/v1.1/things/${encodeURIComponent(thingId)}/stream`, {
          headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
          signal: stop.signal,
        })
        if (!response.ok || !response.body) throw new Error(`the stream answered ${response.status}`)
        onState('live')
        if (!lastEventId) onGap()
        const parser = createParser({
          onEvent(event) {
            if (event.id) lastEventId = event.id
            if (event.event === 'reading') onReading(JSON.parse(event.data) as Reading)
          },
          onRetry(ms) {
            retryMs = ms
          },
        })
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          parser.feed(value)
        }
      } catch {
        // dropped or refused: try again below
      }
      if (stop.signal.aborted) return
      onState('reconnecting')
      await new Promise((resolve) => setTimeout(resolve, retryMs))
    }
  }
  onState('connecting')
  void run()
  return () => stop.abort()
}
