/** The auth server's routes: users, passwords, OAuth2 and its pages (the application endpoints are declared with the platform's, in index.ts). */
import type { RequestHandler } from 'express'
import { authorizeRoutes } from './oauth/authorize-routes.ts'
import { consoleRoutes } from './oauth/console-routes.ts'
import { dashboardRoutes } from './console/routes.ts'
import { metadataRoutes } from './oauth/metadata-routes.ts'
import { createOAuthServer } from './oauth/oauth-server.ts'
import { tokenRoutes } from './oauth/token-routes.ts'
import type { RouteDeps } from './route-deps.ts'
import { passwordPages } from './user/password-pages.ts'
import { userEndpoints } from './user/routes.ts'
import { routerOf } from './http/endpoint.ts'

export function authRoutes(deps: RouteDeps): RequestHandler[] {
  const server = createOAuthServer(deps)
  return [
    routerOf(deps, userEndpoints(deps)),
    tokenRoutes(deps, server),
    metadataRoutes(deps),
    authorizeRoutes(deps, server),
    consoleRoutes(deps),
    dashboardRoutes(deps),
    passwordPages(deps),
  ]
}
