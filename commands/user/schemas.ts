/** Request and response shapes of the user and password endpoints, as the API text gives them. */
import { z } from 'zod'
import { optionalText, requiredText } from '../http/validate.ts'

export const minPasswordLength = 8

export const password = () => z.string().min(minPasswordLength).max(1024)

const optionalInteger = () => z.number().int().min(0).max(2 ** 31 - 1).nullable().optional()

const profileFields = {
  phone_number: optionalText(32).describe('phone number'),
  user_class_id: optionalInteger().describe('identify user class'),
  user_group_id: optionalInteger().describe('categorize user group'),
  user_groups_id: optionalInteger().describe('the same as user_group_id (the name the API text answers with)'),
  permission_role_id: optionalInteger().describe('permission role associated with user'),
}

/** Fields the API text does not list are ignored, so a GET body can be sent back. */
export const createUserBody = z
  .object({
    first_name: requiredText().describe('first name of user'),
    last_name: requiredText().describe('last name of user'),
    email: z.email().max(254).describe("user's email"),
    password: password().describe(`user's password, at least ${minPasswordLength} characters; never returned`),
    application_id: z.string().trim().min(1).max(64).optional().describe('adds a user to an application'),
    ...profileFields,
  })
  .meta({ title: 'CreateUser' })

export const updateUserBody = z
  .object({
    first_name: requiredText().optional(),
    last_name: requiredText().optional(),
    email: z.string().optional().describe('cannot be changed: only the current address is accepted'),
    password: z.unknown().optional().describe('not accepted here: use /password/forgot and /password/reset'),
    ...profileFields,
  })
  .meta({ title: 'UpdateUser' })

export const userResponse = z
  .object({
    id: z.uuid(),
    email: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    last_login: z.string().nullable(),
    phone_number: z.string().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    user_class_id: z.number().nullable(),
    user_groups_id: z.number().nullable(),
    permission_role_id: z.number().nullable(),
    application_id: z.string().nullable(),
    account_id: z.uuid(),
  })
  .strict()
  .meta({ title: 'User' })

export const forgotPasswordBody = z.object({ email: z.string().trim().min(1).max(254).describe("User's email to send reset password link") }).meta({ title: 'ForgotPassword' })

export const forgotPasswordResponse = z
  .object({
    email: z.string(),
    success: z.boolean().optional(),
    first_name: z.string().optional(),
    last_name: z.string().optional(),
    token: z.string().optional().describe('only for a management application'),
  })
  .meta({ title: 'ForgotPasswordAnswer' })

export const resetPasswordBody = z
  .object({
    token: z.string().min(1).max(512).describe('token gathered from /password/forgot (or the e-mail)'),
    password: password().describe('new password'),
  })
  .meta({ title: 'ResetPassword' })

export const successResponse = z.object({ success: z.literal(true) }).meta({ title: 'Success' })
