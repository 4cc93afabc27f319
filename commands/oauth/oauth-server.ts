/**
 * The OAuth2 server (oauth2orize): the library holds the protocol, this module the
 * storage. Grants: `code` and `token` (implicit); exchanges: authorization code (with
 * PKCE), password (the API text's `email` field), refresh token (rotated), client
 * credentials. Transactions between the authorize step and the decision are not kept
 * on the server: the transaction id is the request itself, signed with the server key
 * and good for ten minutes.
 */
import { createHash } from 'node:crypto'
import oauth2orize from 'oauth2orize'
import type { Request } from 'express'
import type { ExistingApplication } from '../../domain/application/application.ts'
import { authorizationCodeDecider, authorizationCodeStreamName } from '../../domain/oauth/authorization-code.ts'
import { userDecider, userStreamName } from '../../domain/user/user.ts'
import { anonymous, requestMetadata } from '../auth-deps.ts'
import { isRegisteredRedirect, originOf } from '../console/console-application.ts'
import { handleCommand } from '../handle-command.ts'
import { loadState } from '../load-state.ts'
import type { RouteDeps } from '../route-deps.ts'
import { checkCredentials, invalidCredentialsMessage, lockedOutMessage, recordLogin, type RegisteredUser } from './credentials.ts'
import { findClient } from './clients.ts'
import { InvalidGrant, issueUserTokens, refreshTokens, revokeFamily, splitToken, type IssuedTokens } from './issue-tokens.ts'

/** What an authorize request carries beyond RFC 6749's fields. */
export interface AuthorizeRequest {
  readonly type: 'code' | 'token'
  readonly clientID: string
  readonly redirectURI: string
  readonly scope?: string[]
  readonly state: string
  readonly codeChallenge?: string
  readonly codeChallengeMethod?: 'S256'
}

export interface Transaction {
  transactionID: string
  client: ExistingApplication
  redirectURI: string
  req: AuthorizeRequest
  user?: RegisteredUser
  res?: { allow: boolean; scope?: string[] }
  info?: unknown
}

const transactionTtlMs = 10 * 60 * 1000
const scopeSeparator = [' ', ',']
/** where client authentication leaves the client (commands/oauth/client-auth.ts) */
const exchangeOptions = { scopeSeparator, userProperty: 'oauthClient' }

export const tokenParams = (issued: IssuedTokens) => ({ expires_in: issued.expiresIn, ...(issued.scope.length ? { scope: issued.scope.join(' ') } : {}) })

type Done = oauth2orize.Done
const { grant: grants, exchange: exchanges } = oauth2orize

/** Runs an async issue callback, mapping our failures to RFC 6749 errors. */
function settle(done: Done, work: () => Promise<unknown[]>): void {
  work().then(
    (values) => done(null, ...values),
    (error: unknown) => {
      if (error instanceof InvalidGrant) return done(new oauth2orize.TokenError(error.message, 'invalid_grant', undefined, 400))
      done(error as Error)
    },
  )
}

export function createOAuthServer(deps: RouteDeps) {
  const { secrets } = deps

  // Transactions: `<base64url JSON>.<mac>`, verified on load.
  const store = {
    store(req: Request, txn: Transaction, cb: (error: Error | null, tid?: string) => void) {
      const payload = Buffer.from(
        JSON.stringify({ r: txn.req, exp: deps.now().getTime() + transactionTtlMs }),
      ).toString('base64url')
      cb(null, `${payload}.${secrets.deriveToken('oauth-transaction', payload)}`)
    },
    load(req: Request, cb: (error: Error | null, txn?: Transaction) => void) {
      const tid = (req.body as Record<string, unknown> | undefined)?.transaction_id
      const fail = (): void => cb(new oauth2orize.AuthorizationError('The authorization request is missing, altered or expired: start again', 'invalid_request'))
      if (typeof tid !== 'string') return fail()
      const [payload, mac] = tid.split('.')
      if (!payload || !mac || !secrets.sameHash(mac, secrets.deriveToken('oauth-transaction', payload))) return fail()
      let parsed: { r: AuthorizeRequest; exp: number }
      try {
        parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { r: AuthorizeRequest; exp: number }
      } catch {
        return fail()
      }
      if (parsed.exp <= deps.now().getTime()) return fail()
      findClient(deps.eventStore, parsed.r.clientID).then((client) => {
        // The client may have been blocked, or the redirect URI removed, since the form was shown.
        if (!client || client.status !== 'active' || !isRegisteredRedirect(client, parsed.r.redirectURI, originOf(req))) return fail()
        cb(null, { transactionID: tid, client, redirectURI: parsed.r.redirectURI, req: parsed.r })
      }, cb)
    },
    update(_req: Request, tid: string, _txn: Transaction, cb: (error: Error | null, tid?: string) => void) {
      cb(null, tid)
    },
    remove(_req: Request, _tid: string, cb: (error: Error | null) => void) {
      cb(null)
    },
  }

  const server = oauth2orize.createServer<ExistingApplication, RegisteredUser>({ store })
  const metadataFor = (req: Request, client: ExistingApplication | null, user: RegisteredUser | null) =>
    requestMetadata(req, {
      actor: user ? { type: 'user', id: user.userId } : client ? { type: 'application', id: client.applicationId } : anonymous,
      accountId: user?.accountId ?? client?.accountId ?? null,
      clientId: client?.applicationId ?? null,
    })

  // PKCE (RFC 7636) rides along with any authorize request.
  server.grant('*', function pkce(req: Request) {
    const query = req.query as Record<string, unknown>
    return typeof query.code_challenge === 'string'
      ? { codeChallenge: query.code_challenge, codeChallengeMethod: query.code_challenge_method ?? 'plain' }
      : {}
  })

  // response_type=code: a single-use code bound to client, redirect URI and challenge.
  server.grant(
    grants.code({ scopeSeparator }, (client: ExistingApplication, redirectURI: string, user: RegisteredUser, ares: { scope?: string[] }, areq: AuthorizeRequest, done: Done) =>
      settle(done, async () => {
        const codeId = deps.newId()
        const code = `${codeId}.${secrets.randomToken()}`
        await handleCommand(
          authorizationCodeDecider,
          authorizationCodeStreamName(codeId),
          {
            type: 'IssueAuthorizationCode',
            data: {
              codeId,
              codeHash: secrets.hashToken(code),
              clientId: client.applicationId,
              redirectUri: redirectURI,
              userId: user.userId,
              accountId: user.accountId,
              scope: areq.scope ?? [],
              codeChallenge: areq.codeChallenge ?? null,
              codeChallengeMethod: areq.codeChallenge ? 'S256' : null,
              credentialsVersion: user.credentialsVersion,
            },
          },
          {
            eventStore: deps.eventStore,
            now: deps.now,
            newId: deps.newId,
            metadata: {
              actor: { type: 'user', id: user.userId },
              account_id: user.accountId,
              client_id: client.applicationId,
              correlation_id: `authorize-${codeId}`,
              causation_id: `authorize-${codeId}`,
            },
          },
        )
        return [code]
      }),
    ),
  )

  // response_type=token (implicit): an access token in the fragment, never a refresh token.
  server.grant(
    grants.token({ scopeSeparator }, (client: ExistingApplication, user: RegisteredUser, _ares: unknown, areq: AuthorizeRequest, done: Done) =>
      settle(done, async () => {
        const issued = await issueUserTokens(user, client, areq.scope ?? [], { refresh: false }, deps, {
          actor: { type: 'user', id: user.userId },
          account_id: user.accountId,
          client_id: client.applicationId,
          correlation_id: 'implicit',
          causation_id: 'implicit',
        })
        return [issued.accessToken, tokenParams(issued)]
      }),
    ),
  )

  // grant_type=authorization_code
  server.exchange(
    exchanges.code(
      exchangeOptions,
      (client: ExistingApplication, code: string, redirectURI: string, body: Record<string, unknown>, authInfo: ClientAuthInfo, done: Done) =>
        settle(done, async () => {
          const parts = splitToken(code)
          if (!parts) throw new InvalidGrant('unknown authorization code')
          const stream = authorizationCodeStreamName(parts.id)
          const state = await loadState(authorizationCodeDecider, stream, deps.eventStore)
          const codeHash = secrets.hashToken(code)
          const now = deps.now()
          if (state.status === 'none' || !secrets.sameHash(state.codeHash, codeHash)) throw new InvalidGrant('unknown authorization code')
          const metadata = metadataFor(authInfo.req, client, null)
          if (state.status === 'redeemed') {
            // A replay: refuse, and revoke what the first redemption produced (RFC 6749 4.1.2).
            await handleCommand(authorizationCodeDecider, stream, { type: 'RedeemAuthorizationCode', data: { codeId: parts.id, codeHash, familyId: '' } }, {
              eventStore: deps.eventStore,
              now: deps.now,
              newId: deps.newId,
              metadata,
            })
            if (state.familyId) await revokeFamily(state.familyId, 'code_replayed', deps, metadata)
            throw new InvalidGrant('the authorization code was already used; the tokens it gave are revoked')
          }
          if (Date.parse(state.expiresAt) <= now.getTime()) throw new InvalidGrant('the authorization code has expired')
          if (state.clientId !== client.applicationId) throw new InvalidGrant('the authorization code was issued to another client')
          if (typeof redirectURI !== 'string' || redirectURI !== state.redirectUri) {
            throw new InvalidGrant('redirect_uri must be the one sent to the authorize step')
          }
          if (state.codeChallenge) {
            const verifier = body.code_verifier
            if (typeof verifier !== 'string' || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) throw new InvalidGrant('code_verifier is missing or malformed')
            const computed = createHash('sha256').update(verifier).digest('base64url')
            if (!secrets.sameHash(computed, state.codeChallenge)) throw new InvalidGrant('code_verifier does not match the code_challenge')
          } else if (authInfo.public) {
            throw new oauth2orize.TokenError('A client without its secret must use PKCE', 'invalid_client', undefined, 401)
          }
          const user = await loadState(userDecider, userStreamName(state.userId), deps.eventStore)
          if (user.status !== 'registered' || user.credentialsVersion !== state.credentialsVersion) {
            throw new InvalidGrant('the user\'s credentials changed since the code was issued')
          }
          const issued = await issueUserTokens(user, client, state.scope, { refresh: true }, deps, metadataFor(authInfo.req, client, user))
          const redeemed = await handleCommand(
            authorizationCodeDecider,
            stream,
            { type: 'RedeemAuthorizationCode', data: { codeId: parts.id, codeHash, familyId: issued.familyId! } },
            { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata },
          )
          if (!redeemed.newEvents.some((event) => event.type === 'AuthorizationCodeRedeemed')) {
            // Lost a race with another redemption of the same code.
            await revokeFamily(issued.familyId!, 'code_replayed', deps, metadata)
            throw new InvalidGrant('the authorization code was already used')
          }
          return [issued.accessToken, issued.refreshToken, tokenParams(issued)]
        }),
    ),
  )

  // grant_type=password: the API text names the field `email` (RFC 6749 says `username`).
  server.exchange(
    exchanges.password(
      exchangeOptions,
      (client: ExistingApplication, username: string, password: string, scope: string[] | undefined, body: Record<string, unknown>, authInfo: ClientAuthInfo, done: Done) =>
        settle(done, async () => {
          const outcome = await checkCredentials(username, password, authInfo.req.ip ?? 'unknown', deps, metadataFor(authInfo.req, client, null))
          if (outcome.outcome === 'locked') throw new InvalidGrant(lockedOutMessage)
          if (outcome.outcome === 'invalid') throw new InvalidGrant(invalidCredentialsMessage)
          const metadata = metadataFor(authInfo.req, client, outcome.user)
          await recordLogin(outcome.user, client.applicationId, 'password_grant', deps, metadata)
          const issued = await issueUserTokens(outcome.user, client, scope ?? [], { refresh: true }, deps, metadata)
          return [issued.accessToken, issued.refreshToken, tokenParams(issued)]
        }),
    ),
  )

  // grant_type=refresh_token: rotation; reuse revokes the family.
  server.exchange(
    exchanges.refreshToken(exchangeOptions, (client: ExistingApplication, refreshToken: string, _scope: unknown, _body: unknown, authInfo: ClientAuthInfo, done: Done) =>
      settle(done, async () => {
        const issued = await refreshTokens(refreshToken, client, deps, metadataFor(authInfo.req, client, null))
        return [issued.accessToken, issued.refreshToken, tokenParams(issued)]
      }),
    ),
  )

  // grant_type=client_credentials: the application acts for its owner's account; a
  // management application may name another account with `account_id`.
  server.exchange(
    exchanges.clientCredentials(
      exchangeOptions,
      (client: ExistingApplication, scope: string[] | undefined, body: Record<string, unknown>, authInfo: ClientAuthInfo, done: Done) =>
        settle(done, async () => {
          if (authInfo.public) throw new oauth2orize.TokenError('client_credentials needs the client secret', 'invalid_client', undefined, 401)
          let accountId = client.accountId
          if (body.account_id !== undefined) {
            if (!client.management) throw new oauth2orize.TokenError('Only a management application may name account_id', 'unauthorized_client', undefined, 400)
            if (typeof body.account_id !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(body.account_id)) {
              throw new oauth2orize.TokenError('account_id is malformed', 'invalid_request', undefined, 400)
            }
            accountId = body.account_id
          }
          const access = deps.accessTokens.issue({
            sub: client.applicationId,
            account_id: accountId,
            client_id: client.applicationId,
            application_id: client.applicationId,
            roles: client.management ? ['management'] : [],
            scope: (scope ?? []).join(' '),
          })
          return [access.token, null, { expires_in: access.expiresIn, ...(scope?.length ? { scope: scope.join(' ') } : {}) }]
        }),
    ),
  )

  return server
}

/** What client authentication leaves in `req.authInfo` for the exchanges. */
export interface ClientAuthInfo {
  /** the client gave only its id (a public client) */
  readonly public: boolean
  readonly req: Request
}
