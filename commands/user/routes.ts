/**
 * The user and password endpoints of the auth server: POST /users, GET and PUT
 * /users/{userId}, POST /password/forgot, POST /password/reset.
 *
 * Who may call: an application's own token (client credentials) creates users for
 * itself and reads them; a user reads and updates only themself; an admin does all.
 * Anyone else finds "not found".
 */
import { Router, type Request, type RequestHandler } from 'express'
import { z } from 'zod'
import { ForbiddenError, NotFoundError, ValidationError } from '../../domain/errors.ts'
import { normalizeEmail } from '../../domain/user/email-claim.ts'
import { userDecider, userStreamName, type UserProfile } from '../../domain/user/user.ts'
import { toUserView, userById, userViewOf } from '../../projections/users.ts'
import { anonymous, requestMetadata } from '../auth-deps.ts'
import { metadataOf, principalOf, type Principal } from '../http/auth.ts'
import { setRevisionTag } from '../http/etag.ts'
import { parseInput } from '../http/validate.ts'
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

const userIdParam = z.uuid()

const isAdmin = (p: Principal): boolean => p.roles.includes('admin')

/** Runs the bearer check only when the request carries an Authorization header. */
export function optionalBearer(requireBearer: RequestHandler): RequestHandler {
  return (req, res, next) => (req.get('authorization') ? requireBearer(req, res, next) : next())
}

export function userRoutes(deps: RouteDeps): Router {
  const router = Router()
  const tags = ['Users']
  const userIdOf = (req: Request): string => {
    const parsed = userIdParam.safeParse(req.params.userId)
    if (!parsed.success) throw new NotFoundError(`User ${String(req.params.userId)} not found`, 'user_not_found')
    return parsed.data
  }

  deps.openapi.add({
    method: 'post',
    path: '/users',
    operationId: 'createUser',
    summary: 'Create a user (an application for itself, or an admin)',
    tags,
    secured: true,
    body: createUserBody,
    responses: {
      201: { description: 'The user; the password is never returned', schema: userResponse },
      409: { description: 'A user with this e-mail exists (told to management and admin tokens only; to other applications a taken address answers like a success, and its owner is e-mailed)' },
    },
  })
  router.post('/users', deps.requireBearer, async (req, res) => {
    const principal = principalOf(req)
    if (!isAdmin(principal) && !principal.applicationId) {
      throw new ForbiddenError('Users are created by an application (client credentials token) or an admin')
    }
    const body = parseInput(createUserBody, req.body)
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
      setRevisionTag(res, 0)
      res.status(201).json(
        userViewOf({
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
        }),
      )
      return
    }
    const { result } = outcome
    await deps.readYourWrites(result.position)
    setRevisionTag(res, result.revision)
    res.status(201).json(userViewOf(result.state))
  })

  deps.openapi.add({
    method: 'get',
    path: '/users/{userId}',
    operationId: 'getUser',
    summary: 'A user: oneself, one created by the calling application, or anyone for an admin',
    tags,
    secured: true,
    pathParams: { userId: 'user id (UUID)' },
    responses: { 200: { description: 'The user', schema: userResponse } },
  })
  router.get('/users/:userId', deps.requireBearer, async (req, res) => {
    const userId = userIdOf(req)
    const principal = principalOf(req)
    const document = await userById(deps.readStore, userId)
    const allowed =
      document !== undefined &&
      (isAdmin(principal) || principal.userId === userId || (principal.applicationId !== null && document.application_id === principal.applicationId))
    if (!document || !allowed) throw new NotFoundError(`User ${userId} not found`, 'user_not_found')
    setRevisionTag(res, document.revision)
    res.json(toUserView(document))
  })

  deps.openapi.add({
    method: 'put',
    path: '/users/{userId}',
    operationId: 'updateUser',
    summary: 'Update a user (oneself, or anyone for an admin); e-mail and password are not changed here',
    tags,
    secured: true,
    pathParams: { userId: 'user id (UUID)' },
    body: updateUserBody,
    responses: { 200: { description: 'The user', schema: userResponse } },
  })
  router.put('/users/:userId', deps.requireBearer, async (req, res) => {
    const userId = userIdOf(req)
    const principal = principalOf(req)
    if (!isAdmin(principal) && principal.userId !== userId) throw new NotFoundError(`User ${userId} not found`, 'user_not_found')
    const body = parseInput(updateUserBody, req.body)
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
    await deps.readYourWrites(result.position)
    setRevisionTag(res, result.revision)
    res.json(userViewOf(result.state))
  })

  const passwordTags = ['Password']
  deps.openapi.add({
    method: 'post',
    path: '/password/forgot',
    operationId: 'forgotPassword',
    summary: 'Start a password reset: the link goes by e-mail; the answer is the same whether or not the address is known',
    description: 'The reset token is in the body only for a trusted management application (bearer token optional).',
    tags: passwordTags,
    secured: false,
    body: forgotPasswordBody,
    responses: { 200: { description: 'Always the same for unknown addresses', schema: forgotPasswordResponse } },
  })
  router.post('/password/forgot', optionalBearer(deps.requireBearer), async (req, res) => {
    const body = parseInput(forgotPasswordBody, req.body)
    const principal = req.user?.principal
    const metadata = principal ? metadataOf(req) : requestMetadata(req, { actor: anonymous, accountId: null, clientId: null })
    const requested = await requestPasswordReset(body.email, deps, metadata)
    if (principal?.roles.includes('management') && requested) {
      res.json({ first_name: requested.firstName, last_name: requested.lastName, email: requested.email, token: requested.token })
      return
    }
    res.json({ email: body.email, success: true })
  })

  deps.openapi.add({
    method: 'post',
    path: '/password/reset',
    operationId: 'resetPassword',
    summary: 'Set a new password with a reset token; ends every SSO session and refresh token of the user',
    tags: passwordTags,
    secured: false,
    body: resetPasswordBody,
    responses: { 200: { description: 'Done', schema: successResponse } },
  })
  router.post('/password/reset', async (req, res) => {
    const body = parseInput(resetPasswordBody, req.body)
    await resetPassword(body.token, body.password, deps, requestMetadata(req, { actor: anonymous, accountId: null, clientId: null }))
    res.json({ success: true })
  })

  return router
}
