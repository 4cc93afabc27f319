/** Request and response shapes of the thing-type endpoints, as the API text gives them. */
import { z } from 'zod'
import { thingTypeCategories, transportProtocols } from '../../domain/thing-type/thing-type.ts'
import { optionalText, requiredText } from '../http/validate.ts'

const optionalFields = {
  model: optionalText().describe('Details about the model of the device'),
  version: optionalText().describe('Versioning'),
  manufacturer: optionalText().describe('Manufacturer information'),
  transport_protocol: z.enum(transportProtocols).describe('Default mqtt'),
  protocol_version: optionalText(32).describe('e.g. 1.1'),
  category: z.enum(thingTypeCategories).nullable().describe('Decides parent_constraint and child_constraint'),
  subcategory: optionalText().describe('e.g. lora, raspberrypi, arduino'),
  data_type: optionalText().describe('A data type known to the system'),
}

/** Fields the API text does not list (id, created_at, ...) are ignored, so a GET body can be sent back. */
export const registerThingTypeBody = z
  .object({
    name: requiredText().describe('e.g. Arduino, Raspberry Pi, Actuator'),
    description: requiredText(1000).describe('A brief description that can be displayed to the user'),
    ...optionalFields,
    transport_protocol: optionalFields.transport_protocol.default('mqtt'),
    category: optionalFields.category.optional(),
  })
  .meta({ title: 'RegisterThingType' })

export const updateThingTypeBody = z
  .object({
    name: requiredText().optional(),
    description: requiredText(1000).optional(),
    ...optionalFields,
    transport_protocol: optionalFields.transport_protocol.optional(),
    category: optionalFields.category.optional(),
  })
  .meta({ title: 'UpdateThingType' })

const constraint = z.enum(['ALLOWED', 'NOT_ALLOWED'])

export const thingTypeResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string(),
    category: z.enum(thingTypeCategories).nullable(),
    subcategory: z.string().nullable(),
    parent_constraint: constraint,
    child_constraint: constraint,
    model: z.string().nullable(),
    version: z.string().nullable(),
    manufacturer: z.string().nullable(),
    transport_protocol: z.enum(transportProtocols),
    protocol_version: z.string().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    data_type: z.string().nullable(),
    proxy_handler: z.null(),
  })
  .strict()
  .meta({ title: 'ThingType' })
