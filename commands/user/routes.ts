/**
 * The user and password endpoints of the auth server: POST /users, GET and PUT
 * /users/{userId}, POST /password/forgot, POST /password/reset.
 *
 * Who may call: an application's own token (client credentials) creates users for
 * itself and reads them; a user reads and updates only themself; an admin does all.
 * Anyone else finds "not found".
 */
import type { RequestHandler } from 'express'
import { ForbiddenError, NotFoundError, ValidationError } from '../../domain/errors.ts'
import { normalizeEmail } from '../../domain/user/email-claim.ts'
import { userDecider, userStreamName, type UserProfile } from '../../domain/user/user.ts'
import { toUserView, userById, userViewOf } from '../../projections/users.ts'
import { anonymous, requestMetadata } from '../auth-deps.ts'
import { metadataOf, principalOf, type Principal } from '../http/auth.ts'
import { endpoint, uuidParam, type Endpoint } from '../http/endpoint.ts'
import { handleCommand } from '../handle-command.ts'
import type { RouteDeps } from '../route-deps.ts'
import { requestPasswordReset, resetPassword } from './password-reset.ts'
import { registerOrNotifyOwner, registerUser } from './register-user.ts'
import {
  createUserBody,
  forgotPasswordBody,
  forgotPasswordResponse,
  resetPasswordBody,
  successResponse,
  updateUserBody,
  userResponse,
} from './schemas.ts'

const isAdmin = (p: Principal): boolean => p.roles.includes('admin')

const notFound = (id: string) => new NotFoundError(`User ${id} not found`, 'user_not_found')

/** Runs the bearer check only when the request carries an Authorization header. */
export function optionalBearer(requireBearer: RequestHandler): RequestHandler {
  return (req, res, next) => (req.get('authorization') ? requireBearer(req, res, next) : next())
}

/** Before the body is read: only an application's own token or an admin's creates users. */
const applicationOrAdmin: RequestHandler = (req, _res, next) => {
  const principal = principalOf(req)
  if (!isAdmin(principal) && !principal.applicationId) {
    throw new ForbiddenError('Users are created by an application (client credentials token) or an admin')
  }
  next()
}

/** Before the body is read: a user updates only themself (anyone else finds "not found"); an admin anyone. */
const selfOrAdmin: RequestHandler = (req, _res, next) => {
  const principal = principalOf(req)
  const userId = String(req.params.userId)
  if (!isAdmin(principal) && principal.userId !== userId) throw notFound(userId)
  next()
}

export function userEndpoints(deps: RouteDeps): Endpoint[] {
  const tags = ['Users']
  const passwordTags = ['Password']
  const params = { userId: uuidParam('user id (UUID)', notFound) }

  return [
    endpoint({
      method: 'post',
      path: '/users',
      operationId: 'createUser',
      summary: 'Create a user (an application for itself, or an admin)',
      tags,
      auth: 'bearer',
      before: [applicationOrAdmin],
      body: createUserBody,
      responses: {
        201: { description: 'The user; the password is never returned', schema: userResponse },
        409: { description: 'A user with this e-mail exists (told to management and admin tokens only; to other applications a taken address answers like a success, and its owner is e-mailed)' },
      },
      async handle({ req, body }) {
        const principal = principalOf(req)
        let applicationId = body.application_id ?? null
        if (!isAdmin(principal)) {
          if (applicationId !== null && applicationId !== principal.applicationId) {
            throw new ForbiddenError('An application creates users for itself only', 'application_mismatch')
          }
          applicationId = principal.applicationId
        }
        const newUser = {
          email: body.email,
          password: body.password,
          firstName: body.first_name,
          lastName: body.last_name,
          phoneNumber: body.phone_number ?? null,
          userClassId: body.user_class_id ?? null,
          userGroupId: body.user_group_id ?? body.user_groups_id ?? null,
          permissionRoleId: body.permission_role_id ?? null,
          applicationId,
          admin: false,
        }
        // Only management and admin tokens learn that an address is taken (409 email_taken):
        // anyone can make an application, so to the others a taken address answers like a
        // success, and its owner is e-mailed instead.
        const mayLearnTaken = isAdmin(principal) || principal.roles.includes('management')
        const outcome = mayLearnTaken
          ? { registered: true as const, result: await registerUser(newUser, deps, metadataOf(req)) }
          : await registerOrNotifyOwner(newUser, 'users_api', deps, metadataOf(req))
        if (!outcome.registered) {
          const now = deps.now().toISOString()
          const { email: _email, password: _password, applicationId: _applicationId, admin: _admin, ...profile } = newUser
          const lookalike = userViewOf({
            status: 'registered',
            userId: deps.newId(),
            accountId: deps.newId(),
            email: normalizeEmail(newUser.email),
            passwordHash: '',
            profile,
            applicationId,
            admin: false,
            credentialsVersion: 0,
            pendingResets: [],
            consents: {},
            registeredAt: now,
            updatedAt: now,
            lastLogin: null,
          })
          return { status: 201, body: lookalike, revision: 0 }
        }
        const { result } = outcome
        return { status: 201, body: userViewOf(result.state), revision: result.revision, position: result.position }
      },
    }),
    endpoint({
      method: 'get',
      path: '/users/{userId}',
      operationId: 'getUser',
      summary: 'A user: oneself, one created by the calling application, or anyone for an admin',
      tags,
      auth: 'bearer',
      params,
      responses: { 200: { description: 'The user', schema: userResponse } },
      async handle({ req, params: { userId } }) {
        const principal = principalOf(req)
        const document = await userById(deps.readStore, userId)
        const allowed =
          document !== undefined &&
          (isAdmin(principal) || principal.userId === userId || (principal.applicationId !== null && document.application_id === principal.applicationId))
        if (!document || !allowed) throw notFound(userId)
        return { body: toUserView(document), revision: document.revision }
      },
    }),
    endpoint({
      method: 'put',
      path: '/users/{userId}',
      operationId: 'updateUser',
      summary: 'Update a user (oneself, or anyone for an admin); e-mail and password are not changed here',
      tags,
      auth: 'bearer',
      before: [selfOrAdmin],
      params,
      body: updateUserBody,
      responses: { 200: { description: 'The user', schema: userResponse } },
      async handle({ req, params: { userId }, body }) {
        if (body.password !== undefined) {
          throw new ValidationError(
            'The password is changed through /password/forgot and /password/reset',
            [{ field: 'password', problem: 'cannot be changed here; use /password/forgot and /password/reset' }],
            'password_not_updatable',
          )
        }
        const requested: { -readonly [K in keyof UserProfile]?: UserProfile[K] } = {
          firstName: body.first_name,
          lastName: body.last_name,
          phoneNumber: body.phone_number,
          userClassId: body.user_class_id,
          userGroupId: body.user_group_id ?? body.user_groups_id,
          permissionRoleId: body.permission_role_id,
        }
        const changes = Object.fromEntries(Object.entries(requested).filter(([, value]) => value !== undefined))
        const result = await handleCommand(
          userDecider,
          userStreamName(userId),
          { type: 'UpdateUser', data: { userId, changes, ...(body.email !== undefined ? { email: body.email.trim().toLowerCase() } : {}) } },
          { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: metadataOf(req) },
        )
        return { body: userViewOf(result.state), revision: result.revision, position: result.position }
      },
    }),
    endpoint({
      method: 'post',
      path: '/password/forgot',
      operationId: 'forgotPassword',
      summary: 'Start a password reset: the link goes by e-mail; the answer is the same whether or not the address is known',
      description: 'The reset token is in the body only for a trusted management application (bearer token optional).',
      tags: passwordTags,
      auth: 'none',
      before: [optionalBearer(deps.requireBearer)],
      body: forgotPasswordBody,
      responses: { 200: { description: 'Always the same for unknown addresses', schema: forgotPasswordResponse } },
      async handle({ req, body }) {
        const principal = req.user?.principal
        const metadata = principal ? metadataOf(req) : requestMetadata(req, { actor: anonymous, accountId: null, clientId: null })
        const requested = await requestPasswordReset(body.email, deps, metadata)
        if (principal?.roles.includes('management') && requested) {
          return { body: { first_name: requested.firstName, last_name: requested.lastName, email: requested.email, token: requested.token } }
        }
        return { body: { email: body.email, success: true } }
      },
    }),
    endpoint({
      method: 'post',
      path: '/password/reset',
      operationId: 'resetPassword',
      summary: 'Set a new password with a reset token; ends every SSO session and refresh token of the user',
      tags: passwordTags,
      auth: 'none',
      body: resetPasswordBody,
      responses: { 200: { description: 'Done', schema: successResponse } },
      async handle({ req, body }) {
        await resetPassword(body.token, body.password, deps, requestMetadata(req, { actor: anonymous, accountId: null, clientId: null }))
        return { body: { success: true } }
      },
    }),
  ]
}
