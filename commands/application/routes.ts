/**
 * The application endpoints: list, create (the secret is shown once), get, update, and
 * the redirect URIs (add, list, remove). An application belongs to its creator's
 * account; another account's answers "not found". Only an admin blocks or unblocks.
 */
import { Router, type Request } from 'express'
import { z } from 'zod'
import { applicationDecider, applicationStreamName, type Requester } from '../../domain/application/application.ts'
import { ForbiddenError, NotFoundError } from '../../domain/errors.ts'
import { applicationsOfAccount, applicationViewOf, applicationVisibleTo, toApplicationView } from '../../projections/applications.ts'
import { metadataOf, principalOf } from '../http/auth.ts'
import { setRevisionTag } from '../http/etag.ts'
import { parseInput } from '../http/validate.ts'
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

const uuid = z.uuid()

export function applicationRoutes(deps: RouteDeps): Router {
  const router = Router()
  const tags = ['Applications']
  const idOf = (req: Request, param: 'applicationId' | 'redirectId'): string => {
    const parsed = uuid.safeParse(req.params[param])
    if (!parsed.success) throw new NotFoundError(`${param === 'applicationId' ? 'Application' : 'Redirect'} ${String(req.params[param])} not found`)
    return parsed.data
  }
  const requesterOf = (req: Request): Requester => {
    const principal = principalOf(req)
    return { accountId: principal.accountId, admin: principal.roles.includes('admin') }
  }
  const decide = async (req: Request, command: Parameters<typeof applicationDecider.decide>[0]) => {
    const result = await handleCommand(applicationDecider, applicationStreamName(command.data.applicationId), command, {
      eventStore: deps.eventStore,
      now: deps.now,
      newId: deps.newId,
      metadata: metadataOf(req),
    })
    await deps.readYourWrites(result.position)
    return result
  }

  deps.openapi.add({
    method: 'get',
    path: '/applications',
    operationId: 'listApplications',
    summary: "The account's applications with a status (default active)",
    tags,
    secured: true,
    query: listApplicationsQuery,
    responses: { 200: { description: 'Applications', schema: z.array(applicationResponse) } },
  })
  router.get('/applications', deps.requireBearer, async (req, res) => {
    const query = parseInput(listApplicationsQuery, req.query, 'query')
    const documents = await applicationsOfAccount(deps.readStore, principalOf(req).accountId, query.status)
    res.json(documents.map(toApplicationView))
  })

  deps.openapi.add({
    method: 'post',
    path: '/applications',
    operationId: 'createApplication',
    summary: 'Create an application; the answer holds its client_secret, shown this once',
    tags,
    secured: true,
    body: createApplicationBody,
    responses: { 201: { description: 'The application and its secret', schema: createdApplicationResponse } },
  })
  router.post('/applications', deps.requireBearer, async (req, res) => {
    const body = parseInput(createApplicationBody, req.body)
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
    await deps.readYourWrites(result.position)
    setRevisionTag(res, result.revision)
    res.setHeader('Cache-Control', 'no-store')
    res.status(201).json({ ...applicationViewOf(result.state), client_secret: result.clientSecret })
  })

  deps.openapi.add({
    method: 'get',
    path: '/applications/{applicationId}',
    operationId: 'getApplication',
    summary: 'An application of the account',
    tags,
    secured: true,
    pathParams: { applicationId: 'application id (UUID), also its client_id' },
    responses: { 200: { description: 'The application', schema: applicationResponse } },
  })
  router.get('/applications/:applicationId', deps.requireBearer, async (req, res) => {
    const applicationId = idOf(req, 'applicationId')
    const document = await applicationVisibleTo(deps.readStore, requesterOf(req), applicationId)
    if (!document) throw new NotFoundError(`Application ${applicationId} not found`, 'application_not_found')
    setRevisionTag(res, document.revision)
    res.json(toApplicationView(document))
  })

  deps.openapi.add({
    method: 'put',
    path: '/applications/{applicationId}',
    operationId: 'updateApplication',
    summary: 'Update name, description or status (partial)',
    tags,
    secured: true,
    pathParams: { applicationId: 'application id (UUID)' },
    body: updateApplicationBody,
    responses: { 200: { description: 'The application', schema: applicationResponse } },
  })
  router.put('/applications/:applicationId', deps.requireBearer, async (req, res) => {
    const applicationId = idOf(req, 'applicationId')
    const body = parseInput(updateApplicationBody, req.body)
    const changes = Object.fromEntries(
      Object.entries({ name: body.name, description: body.description, status: body.status }).filter(([, v]) => v !== undefined),
    )
    const result = await decide(req, { type: 'UpdateApplication', data: { applicationId, requester: requesterOf(req), changes } })
    setRevisionTag(res, result.revision)
    res.json(applicationViewOf(result.state))
  })

  deps.openapi.add({
    method: 'post',
    path: '/applications/{applicationId}/redirects',
    operationId: 'addRedirectUri',
    summary: 'Whitelist a redirect URI for the authorize step',
    tags,
    secured: true,
    pathParams: { applicationId: 'application id (UUID)' },
    body: addRedirectBody,
    responses: { 200: { description: 'The redirect URI', schema: redirectResponse } },
  })
  router.post('/applications/:applicationId/redirects', deps.requireBearer, async (req, res) => {
    const applicationId = idOf(req, 'applicationId')
    const body = parseInput(addRedirectBody, req.body)
    const result = await decide(req, {
      type: 'AddRedirectUri',
      data: { applicationId, requester: requesterOf(req), redirectId: deps.newId(), redirectUri: body.redirect_uri },
    })
    const redirect = applicationViewOf(result.state).redirect_uris.find((r) => r.redirect_uri === body.redirect_uri)!
    res.json(redirect)
  })

  deps.openapi.add({
    method: 'get',
    path: '/applications/{applicationId}/redirects',
    operationId: 'listRedirectUris',
    summary: "The application's redirect URIs",
    tags,
    secured: true,
    pathParams: { applicationId: 'application id (UUID)' },
    responses: { 200: { description: 'Redirect URIs', schema: z.array(redirectResponse) } },
  })
  router.get('/applications/:applicationId/redirects', deps.requireBearer, async (req, res) => {
    const applicationId = idOf(req, 'applicationId')
    const document = await applicationVisibleTo(deps.readStore, requesterOf(req), applicationId)
    if (!document) throw new NotFoundError(`Application ${applicationId} not found`, 'application_not_found')
    res.json(document.redirect_uris)
  })

  deps.openapi.add({
    method: 'delete',
    path: '/applications/{applicationId}/redirects/{redirectId}',
    operationId: 'removeRedirectUri',
    summary: 'Remove a redirect URI',
    tags,
    secured: true,
    pathParams: { applicationId: 'application id (UUID)', redirectId: 'redirect id (UUID)' },
    responses: { 204: { description: 'Removed' } },
  })
  router.delete('/applications/:applicationId/redirects/:redirectId', deps.requireBearer, async (req, res) => {
    const applicationId = idOf(req, 'applicationId')
    const redirectId = idOf(req, 'redirectId')
    await decide(req, { type: 'RemoveRedirectUri', data: { applicationId, requester: requesterOf(req), redirectId } })
    res.status(204).end()
  })

  return router
}
