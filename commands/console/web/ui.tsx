/** Small pieces the pages share: loading data, showing an API error, copying a secret. */
import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError } from './api.ts'

export interface Loaded<T> {
  readonly data: T | undefined
  readonly error: string | null
  reload(): void
}

/** Runs `load` now and whenever `keys` change or reload() is called. */
export function useLoad<T>(load: () => Promise<T>, keys: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let current = true
    load().then(
      (value) => {
        if (!current) return
        setData(value)
        setError(null)
      },
      (failure: Error) => current && setError(failure.message),
    )
    return () => {
      current = false
    }
  }, [...keys, tick])
  return { data, error, reload: useCallback(() => setTick((n) => n + 1), []) }
}

/** The message of a failed call, naming the fields the API found wrong. */
export function problemText(error: unknown): string {
  if (error instanceof ApiError && error.details.length > 0) {
    return `${error.message} (${error.details.map((d) => `${d.field}: ${d.problem}`).join('; ')})`
  }
  return error instanceof Error ? error.message : String(error)
}

export function ErrorText({ error }: { error: string | null }) {
  return error ? <p class="error" role="alert">{error}</p> : null
}

/** A form's submit wrapped: the button is busy while it runs, failures are shown. */
export function useAction(): [boolean, string | null, (run: () => Promise<void>) => Promise<void>] {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const act = async (run: () => Promise<void>): Promise<void> => {
    setBusy(true)
    setError(null)
    try {
      await run()
    } catch (failure) {
      setError(problemText(failure))
    } finally {
      setBusy(false)
    }
  }
  return [busy, error, act]
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false)
  return (
    <button
      type="button"
      class="copy"
      aria-label={label}
      onClick={() =>
        void navigator.clipboard.writeText(text).then(() => {
          setCopied(true)
          setTimeout(() => setCopied(false), 2000)
        })
      }
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  )
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/\W+/g, '-')}-heading`
  return (
    <section aria-labelledby={headingId} id={id}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  )
}
