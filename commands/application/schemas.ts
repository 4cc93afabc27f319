/** Request and response shapes of the application endpoints. */
import { z } from 'zod'
import { applicationStatuses } from '../../domain/application/application.ts'
import { optionalText, requiredText } from '../http/validate.ts'

export const createApplicationBody = z
  .object({
    name: requiredText().describe('Application name'),
    description: optionalText(1000).describe('Description'),
    management: z.boolean().optional().describe('admins only: a trusted management application'),
  })
  .meta({ title: 'CreateApplication' })

export const updateApplicationBody = z
  .object({
    name: requiredText().optional(),
    description: optionalText(1000),
    status: z.enum(applicationStatuses).optional().describe('active, inactive; blocked (admins only)'),
  })
  .meta({ title: 'UpdateApplication' })

export const listApplicationsQuery = z.object({
  status: z.enum(applicationStatuses).default('active').describe('application status to search for'),
})

export const addRedirectBody = z
  .object({ redirect_uri: z.string().trim().min(1).max(2000).describe('absolute; https, loopback http or a private-use scheme; no fragment') })
  .meta({ title: 'AddRedirectUri' })

export const redirectResponse = z
  .object({ id: z.uuid(), app_id: z.uuid(), redirect_uri: z.string(), updated_at: z.iso.datetime(), created_at: z.iso.datetime() })
  .strict()
  .meta({ title: 'RedirectUri' })

export const applicationResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string().nullable(),
    status: z.enum(applicationStatuses),
    client_id: z.uuid().describe('the App Key'),
    account_id: z.uuid(),
    management: z.boolean(),
    redirect_uris: z.array(redirectResponse),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .strict()
  .meta({ title: 'Application' })

export const createdApplicationResponse = applicationResponse
  .extend({ client_secret: z.string().describe('the App Secret: shown this once, stored only as a hash') })
  .meta({ title: 'CreatedApplication' })
