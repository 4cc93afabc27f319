/**
 * The dashboard: signs in (auth.ts), then draws the page the address's hash names:
 * #/things, #/things/{id}, #/rules, #/jobs, #/deliveries. Everything comes from the
 * public API with the dashboard's own token.
 */
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { completeSignIn } from './auth.ts'
import { DeliveriesPage } from './deliveries.tsx'
import { JobsPage } from './jobs.tsx'
import { RulesPage } from './rules.tsx'
import { ThingPage } from './thing.tsx'
import { ThingsPage } from './things.tsx'

function useHash(): string {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const changed = (): void => {
      setHash(location.hash)
      // Move focus to the new page, so keyboard and screen reader users land on it.
      document.getElementById('main')?.focus()
    }
    addEventListener('hashchange', changed)
    return () => removeEventListener('hashchange', changed)
  }, [])
  return hash
}

function Dashboard() {
  const hash = useHash()
  const [, section, id] = hash.replace(/^#\/?/, '').match(/^([^/]*)\/?(.*)$/) ?? []
  useEffect(() => {
    for (const link of document.querySelectorAll<HTMLAnchorElement>('header nav a')) {
      const current = link.getAttribute('href') === `#/${section || 'things'}`
      if (current) link.setAttribute('aria-current', 'page')
      else link.removeAttribute('aria-current')
    }
  }, [section])
  switch (section) {
    case 'rules':
      return <RulesPage />
    case 'jobs':
      return <JobsPage />
    case 'deliveries':
      return <DeliveriesPage />
    case 'things':
      if (id) return <ThingPage thingId={decodeURIComponent(id)} />
      return <ThingsPage />
    default:
      return <ThingsPage />
  }
}

const main = document.getElementById('main')!
completeSignIn().then(
  () => render(<Dashboard />, main),
  (error: Error) => {
    main.innerHTML = ''
    const message = document.createElement('p')
    message.className = 'error'
    message.setAttribute('role', 'alert')
    message.textContent = `Signing in failed: ${error.message}`
    main.append(message)
  },
)
