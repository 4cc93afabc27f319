/**
 * The application endpoints: list, create (the secret is shown once), get, update, and
 * the redirect URIs (add, list, remove). An application belongs to its creator's
 * account; another account's answers "not found". Only an admin blocks or unblocks.
 */
import type { Request } from 'express'
import { z } from 'zod'
import { applicationDecider, applicationStreamName, type Requester } from '../../domain/application/application.ts'
import { ForbiddenError, NotFoundError } from '../../domain/errors.ts'
import { applicationsOfAccount, applicationViewOf, applicationVisibleTo, toApplicationView } from '../../projections/applications.ts'
import { metadataOf, principalOf } from '../http/auth.ts'
import { endpoint, uuidParam, type Endpoint } from '../http/endpoint.ts'
import { handleCommand } from '../handle-command.ts'
import type { RouteDeps } from '../route-deps.ts'
import { createApplication } from './create-application.ts'
import {
  addRedirectBody,
  applicationResponse,
  createApplicationBody,
  createdApplicationResponse,
  listApplicationsQuery,
  redirectResponse,
  updateApplicationBody,
} from './schemas.ts'

const applicationId = uuidParam('application id (UUID)', (id) => new NotFoundError(`Application ${id} not found`))
const redirectId = uuidParam('redirect id (UUID)', (id) => new NotFoundError(`Redirect ${id} not found`))
const applicationNotFound = (id: string) => new NotFoundError(`Application ${id} not found`, 'application_not_found')

export function applicationEndpoints(deps: RouteDeps): Endpoint[] {
  const tags = ['Applications']
  const requesterOf = (req: Request): Requester => {
    const principal = principalOf(req)
    return { accountId: principal.accountId, admin: principal.roles.includes('admin') }
  }
  const decide = (req: Request, command: Parameters<typeof applicationDecider.decide>[0]) =>
    handleCommand(applicationDecider, applicationStreamName(command.data.applicationId), command, {
      eventStore: deps.eventStore,
      now: deps.now,
      newId: deps.newId,
      metadata: metadataOf(req),
    })
  const visibleOrNotFound = async (req: Request, id: string) => {
    const document = await applicationVisibleTo(deps.readStore, requesterOf(req), id)
    if (!document) throw applicationNotFound(id)
    return document
  }

  return [
    endpoint({
      method: 'get',
      path: '/applications',
      operationId: 'listApplications',
      summary: "The account's applications with a status (default active)",
      tags,
      auth: 'bearer',
      query: listApplicationsQuery,
      responses: { 200: { description: 'Applications', schema: z.array(applicationResponse) } },
      async handle({ req, query }) {
        return { body: (await applicationsOfAccount(deps.readStore, principalOf(req).accountId, query.status)).map(toApplicationView) }
      },
    }),
    endpoint({
      method: 'post',
      path: '/applications',
      operationId: 'createApplication',
      summary: 'Create an application; the answer holds its client_secret, shown this once',
      tags,
      auth: 'bearer',
      body: createApplicationBody,
      responses: { 201: { description: 'The application and its secret', schema: createdApplicationResponse } },
      async handle({ req, body }) {
        const principal = principalOf(req)
        if (body.management && !principal.roles.includes('admin')) {
          throw new ForbiddenError('Only an admin creates management applications')
        }
        const result = await createApplication(
          {
            accountId: principal.accountId,
            ownerUserId: principal.userId,
            name: body.name,
            description: body.description ?? null,
            management: body.management ?? false,
          },
          deps,
          metadataOf(req),
        )
        return {
          status: 201,
          body: { ...applicationViewOf(result.state), client_secret: result.clientSecret },
          revision: result.revision,
          position: result.position,
          headers: { 'Cache-Control': 'no-store' },
        }
      },
    }),
    endpoint({
      method: 'get',
      path: '/applications/{applicationId}',
      operationId: 'getApplication',
      summary: 'An application of the account',
      tags,
      auth: 'bearer',
      params: { applicationId: { ...applicationId, description: 'application id (UUID), also its client_id' } },
      responses: { 200: { description: 'The application', schema: applicationResponse } },
      async handle({ req, params }) {
        const document = await visibleOrNotFound(req, params.applicationId)
        return { body: toApplicationView(document), revision: document.revision }
      },
    }),
    endpoint({
      method: 'put',
      path: '/applications/{applicationId}',
      operationId: 'updateApplication',
      summary: 'Update name, description or status (partial)',
      tags,
      auth: 'bearer',
      params: { applicationId },
      body: updateApplicationBody,
      responses: { 200: { description: 'The application', schema: applicationResponse } },
      async handle({ req, params, body }) {
        const changes = Object.fromEntries(
          Object.entries({ name: body.name, description: body.description, status: body.status }).filter(([, v]) => v !== undefined),
        )
        const result = await decide(req, { type: 'UpdateApplication', data: { applicationId: params.applicationId, requester: requesterOf(req), changes } })
        return { body: applicationViewOf(result.state), revision: result.revision, position: result.position }
      },
    }),
    endpoint({
      method: 'post',
      path: '/applications/{applicationId}/redirects',
      operationId: 'addRedirectUri',
      summary: 'Whitelist a redirect URI for the authorize step',
      tags,
      auth: 'bearer',
      params: { applicationId },
      body: addRedirectBody,
      responses: { 200: { description: 'The redirect URI', schema: redirectResponse } },
      async handle({ req, params, body }) {
        const result = await decide(req, {
          type: 'AddRedirectUri',
          data: { applicationId: params.applicationId, requester: requesterOf(req), redirectId: deps.newId(), redirectUri: body.redirect_uri },
        })
        const redirect = applicationViewOf(result.state).redirect_uris.find((r) => r.redirect_uri === body.redirect_uri)!
        return { body: redirect, position: result.position }
      },
    }),
    endpoint({
      method: 'get',
      path: '/applications/{applicationId}/redirects',
      operationId: 'listRedirectUris',
      summary: "The application's redirect URIs",
      tags,
      auth: 'bearer',
      params: { applicationId },
      responses: { 200: { description: 'Redirect URIs', schema: z.array(redirectResponse) } },
      async handle({ req, params }) {
        return { body: (await visibleOrNotFound(req, params.applicationId)).redirect_uris }
      },
    }),
    endpoint({
      method: 'delete',
      path: '/applications/{applicationId}/redirects/{redirectId}',
      operationId: 'removeRedirectUri',
      summary: 'Remove a redirect URI',
      tags,
      auth: 'bearer',
      params: { applicationId, redirectId },
      responses: { 204: { description: 'Removed' } },
      async handle({ req, params }) {
        const result = await decide(req, {
          type: 'RemoveRedirectUri',
          data: { applicationId: params.applicationId, requester: requesterOf(req), redirectId: params.redirectId },
        })
        return { status: 204, position: result.position }
      },
    }),
  ]
}
