/**
 * Signing in: the authorization code flow with PKCE (S256) against our own server, as the
 * built-in public application. The access and refresh tokens live in this module's
 * variables only: never in storage, cookies or URLs. Only the PKCE verifier and state
 * cross the redirect, in sessionStorage (gone with the tab), and are removed on return.
 * A reload signs in again without a page: the SSO cookie answers the authorize step.
 */
const body = document.body.dataset
const clientId = body.clientId ?? ''
const redirectUri = `${location.origin}${body.redirectPath ?? '/dashboard/'}`
const pendingKey = 'capsicum.dashboard.pkce'

interface Tokens {
  access: string
  refresh: string | null
  /** when to refresh, before the access token expires (ms since the epoch) */
  refreshAt: number
}

let tokens: Tokens | null = null
let refreshing: Promise<void> | null = null

function base64url(bytes: Uint8Array): string {
  let text = ''
  for (const byte of bytes) text += String.fromCharCode(byte)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function randomText(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)))
}

async function challengeOf(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))))
}

/** Sends the browser to the authorize step; it comes back to this page with a code. */
export async function signIn(): Promise<never> {
  const verifier = randomText()
  const state = randomText()
  sessionStorage.setItem(pendingKey, JSON.stringify({ verifier, state, hash: location.hash }))
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: 'S256',
  })
  location.assign(`/oauth/authorize?${query}`)
  return new Promise<never>(() => {})
}

async function tokenRequest(form: Record<string, string>): Promise<void> {
  const response = await fetch('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ ...form, client_id: clientId }),
  })
  const answer = (await response.json().catch(() => ({}))) as { access_token?: string; refresh_token?: string; expires_in?: number; error_description?: string }
  if (!response.ok || !answer.access_token) throw new Error(answer.error_description ?? `The token endpoint answered ${response.status}`)
  const lifetimeMs = (answer.expires_in ?? 3600) * 1000
  tokens = { access: answer.access_token, refresh: answer.refresh_token ?? null, refreshAt: Date.now() + lifetimeMs * 0.8 }
}

/**
 * On start: back from the authorize step with a code, exchange it (and take the code out
 * of the address bar); otherwise go and get one. Resolves once signed in.
 */
export async function completeSignIn(): Promise<void> {
  const query = new URLSearchParams(location.search)
  const code = query.get('code')
  const error = query.get('error')
  if (!code && !error) return void (await signIn())
  const pending = JSON.parse(sessionStorage.getItem(pendingKey) ?? 'null') as { verifier: string; state: string; hash: string } | null
  sessionStorage.removeItem(pendingKey)
  history.replaceState(null, '', `${location.pathname}${pending?.hash ?? ''}`)
  if (error) throw new Error(query.get('error_description') ?? error)
  if (!pending || query.get('state') !== pending.state) return void (await signIn())
  await tokenRequest({ grant_type: 'authorization_code', code: code!, redirect_uri: redirectUri, code_verifier: pending.verifier })
}

async function refresh(): Promise<void> {
  refreshing ??= (async () => {
    try {
      if (!tokens?.refresh) throw new Error('no refresh token')
      await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh })
    } catch {
      tokens = null
      await signIn()
    } finally {
      refreshing = null
    }
  })()
  return refreshing
}

/** A valid access token, refreshed when it is near its end. */
export async function accessToken(): Promise<string> {
  if (!tokens) await signIn()
  if (Date.now() >= tokens!.refreshAt) await refresh()
  return tokens!.access
}

/** After a 401: the token was refused, get a new one. */
export async function renewAccessToken(): Promise<string> {
  await refresh()
  return tokens!.access
}
