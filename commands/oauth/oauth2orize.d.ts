/**
 * Our own typing of the part of oauth2orize we use (it replaces @types/oauth2orize,
 * whose factories cannot follow the library's choice of callback by arity and whose
 * middleware types are not express's). Each callback has the one form we register.
 */
declare module 'oauth2orize' {
  import type { ErrorRequestHandler, Request, RequestHandler } from 'express'

  namespace oauth2orize {
    type Done = (error: Error | null, ...rest: unknown[]) => void

    class OAuth2Error extends Error {
      constructor(message?: string, code?: string, uri?: string, status?: number)
      code: string
      uri: string | undefined
      status: number
    }
    class AuthorizationError extends OAuth2Error {}
    class TokenError extends OAuth2Error {}

    /** A transaction store (oauth2orize's `options.store`): ours is stateless, the id signed. */
    interface TransactionStore<Txn> {
      store(req: Request, txn: Txn, cb: (error: Error | null, tid?: string) => void): void
      load(req: Request, cb: (error: Error | null, txn?: Txn) => void): void
      update(req: Request, tid: string, txn: Txn, cb: (error: Error | null, tid?: string) => void): void
      remove(req: Request, tid: string, cb: (error: Error | null) => void): void
    }

    /** What `grant.*` and `exchange.*` build, for `server.grant` and `server.exchange`. */
    interface GrantMiddleware {
      readonly name: string
    }
    interface ExchangeMiddleware {
      (req: Request, res: unknown, next: (error?: unknown) => void): void
    }

    interface GrantOptions {
      readonly scopeSeparator?: string | readonly string[]
    }
    interface ExchangeOptions extends GrantOptions {
      /** where client authentication left the client (default `user`) */
      readonly userProperty?: string
    }

    interface AuthorizeRequest {
      readonly type: string
      readonly clientID: string
      readonly redirectURI: string
      readonly scope?: string[]
      readonly state: string
    }

    interface OAuth2Server<Client, User> {
      /** A parser of extra authorize parameters for every response type (PKCE). */
      grant(type: '*', parse: (req: Request) => object): void
      grant(middleware: GrantMiddleware): void
      exchange(middleware: ExchangeMiddleware): void
      token(): RequestHandler
      errorHandler(options?: { mode?: 'direct' | 'indirect' }): ErrorRequestHandler
      authorization(
        validate: (areq: AuthorizeRequest, done: (error: Error | null, client?: Client | false, redirectUri?: string) => void) => void,
        immediate: (client: Client, user: User | undefined, scope: string[] | undefined, type: string, areq: AuthorizeRequest, done: (error: Error | null, allow: boolean, info?: object) => void) => void,
      ): RequestHandler
      authorizationErrorHandler(): (ErrorRequestHandler | RequestHandler)[]
      /** the transaction loader, then the decision */
      decision(options: { userProperty?: string }, parse: (req: Request, done: (error: Error | null, ares?: object) => void) => void): RequestHandler[]
    }

    function createServer<Client, User, Txn = unknown>(options?: { store?: TransactionStore<Txn> }): OAuth2Server<Client, User>

    namespace grant {
      function code<Client, User, Areq>(
        options: GrantOptions,
        issue: (client: Client, redirectURI: string, user: User, ares: { scope?: string[] }, areq: Areq, done: Done) => void,
      ): GrantMiddleware
      function token<Client, User, Areq>(options: GrantOptions, issue: (client: Client, user: User, ares: unknown, areq: Areq, done: Done) => void): GrantMiddleware
    }

    namespace exchange {
      type Body = Record<string, unknown>
      function code<Client, AuthInfo>(
        options: ExchangeOptions,
        issue: (client: Client, code: string, redirectURI: string, body: Body, authInfo: AuthInfo, done: Done) => void,
      ): ExchangeMiddleware
      function password<Client, AuthInfo>(
        options: ExchangeOptions,
        issue: (client: Client, username: string, password: string, scope: string[] | undefined, body: Body, authInfo: AuthInfo, done: Done) => void,
      ): ExchangeMiddleware
      function refreshToken<Client, AuthInfo>(
        options: ExchangeOptions,
        issue: (client: Client, refreshToken: string, scope: string[] | undefined, body: Body, authInfo: AuthInfo, done: Done) => void,
      ): ExchangeMiddleware
      function clientCredentials<Client, AuthInfo>(
        options: ExchangeOptions,
        issue: (client: Client, scope: string[] | undefined, body: Body, authInfo: AuthInfo, done: Done) => void,
      ): ExchangeMiddleware
    }
  }

  export = oauth2orize
}
