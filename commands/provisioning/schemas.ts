/** Request and response shapes of the provisioning and pairing endpoints. */
import { z } from 'zod'
import { maxBatchSize } from '../../domain/provisioning/provisioning.ts'
import { optionalText, requiredText } from '../http/validate.ts'

/** JSON true/false, or a form's "true"/"false"/"1"/"0". */
export const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', ''])])
  .transform((v) => v === true || v === 'true' || v === '1')

export const hardwareIdText = requiredText(128).regex(/^[\x20-\x7e]+$/, 'must be printable ASCII')

/** An IMEI sent as a JSON number is taken as its digits. */
const hardwareIdEntry = z.union([hardwareIdText, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).transform(String)])

export const batchBody = z
  .object({
    device_type_id: z.uuid().optional().describe('the type of every device; default: the generic device type'),
    hardware_ids: z
      .union([z.array(hardwareIdEntry).max(maxBatchSize), z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))])
      .optional()
      .describe('IMEIs, serial numbers, DevEUIs (an array, or comma-separated in a form); length must equal count when both are sent'),
    count: z.coerce.number().int().min(1).max(maxBatchSize).optional().describe(`number of devices, 1-${maxBatchSize}`),
    codec: optionalText().describe('codec for LoRa devices'),
    response_csv: flag.optional().describe('answer in text/csv instead of JSON'),
    dry_run: flag.optional().describe('validate only: nothing is provisioned'),
  })
  .meta({ title: 'ProvisionBatch' })

export const csvFormFields = z.object({
  response_csv: flag.optional(),
  dry_run: flag.optional(),
})

export const provisionedDeviceResponse = z
  .object({
    id: z.uuid(),
    application_id: z.string().nullable(),
    hardware_id: z.string().nullable(),
    device_type_id: z.string(),
    codec: z.string().nullable(),
    status: z.enum(['PENDING', 'PAIRED']),
    created_at: z.iso.datetime(),
  })
  .strict()
  .meta({ title: 'ProvisionedDevice' })

export const batchQuery = z.object({ dry_run: flag.optional().describe('validate only: nothing is provisioned') })

export const pairThingBody = z
  .object({
    hardware_id: requiredText(128).describe('the hardware id that was added in a provisioning batch (DevEUI, IMEI, serial number)'),
    name: optionalText().describe('optional thing name; default: the hardware id'),
  })
  .meta({ title: 'PairThing' })
