/**
 * Serves the dashboard: the page at /dashboard/ (a shell; everything on it is drawn by
 * the bundle, which talks to the public API with its own token) and the bundle under
 * /dashboard/assets/, gzip-compressed when the browser accepts it. CSP: scripts, styles
 * and connections from our origin only.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import { Router, type Response } from 'express'
import type { Secrets } from '../../domain/ports/secrets.ts'
import { csrfToken } from '../oauth/web.ts'
import { distDir } from './build.ts'
import { consoleApplicationId, consoleRedirectPath } from './console-application.ts'

const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

interface Asset {
  readonly type: string
  readonly body: Buffer
  readonly gzipped: Buffer
  readonly etag: string
}

const assetTypes: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'styles.css': 'text/css; charset=utf-8' }

function securityHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', contentSecurityPolicy)
  res.setHeader('X-Frame-Options', 'DENY')
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Referrer-Policy', 'no-referrer')
}

function shell(csrf: string, mqttPort: number | null): string {
  // The client id, redirect path and MQTT port are public; the bundle reads them from data attributes (no inline script).
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dashboard · Capsicum</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/assets/styles.css">
<script type="module" src="/dashboard/assets/app.js"></script>
</head>
<body data-client-id="${consoleApplicationId}" data-redirect-path="${consoleRedirectPath}" data-mqtt-port="${mqttPort ?? ''}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <nav aria-label="Main">
    <a href="#/things">Things</a>
    <a href="#/rules">Rules</a>
    <a href="#/jobs">Jobs</a>
    <a href="#/deliveries">Deliveries</a>
    <a href="/console">Applications</a>
  </nav>
  <form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit">Log out</button></form>
</header>
<main id="main" tabindex="-1"><p role="status">Signing you in…</p></main>
</body>
</html>`
}

export function dashboardRoutes(deps: { secrets: Secrets; mqttPort?: number | null }): Router {
  const router = Router()
  const assets = new Map<string, Promise<Asset | null>>()
  const load = (name: string): Promise<Asset | null> => {
    let asset = assets.get(name)
    if (!asset) {
      asset = readFile(`${distDir}${name}`).then(
        (body) => ({ type: assetTypes[name]!, body, gzipped: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` }),
        () => null,
      )
      assets.set(name, asset)
    }
    return asset
  }

  // Matches /dashboard and /dashboard/ alike (non-strict routing); the code comes back to /dashboard/.
  router.get('/dashboard', (req, res) => {
    securityHeaders(res)
    res.setHeader('Cache-Control', 'no-store')
    res.type('html').send(shell(csrfToken(req, res, deps.secrets), deps.mqttPort ?? null))
  })
  router.get('/dashboard/assets/:name', async (req, res) => {
    const name = req.params.name
    const asset = name in assetTypes ? await load(name) : null
    securityHeaders(res)
    if (!asset) {
      assets.delete(name)
      res.status(404).type('text').send(name in assetTypes ? 'The dashboard is not built: run npm run build:console' : 'Not found')
      return
    }
    res.setHeader('Content-Type', asset.type)
    res.setHeader('ETag', asset.etag)
    res.setHeader('Cache-Control', 'no-cache')
    res.setHeader('Vary', 'Accept-Encoding')
    if (req.get('if-none-match') === asset.etag) return void res.status(304).end()
    const gzip = /\bgzip\b/.test(req.get('accept-encoding') ?? '')
    if (gzip) res.setHeader('Content-Encoding', 'gzip')
    res.send(gzip ? asset.gzipped : asset.body)
  })
  return router
}
