/** Batch and CSV provisioning, a batch's devices, and pairing. */
import type { Request, RequestHandler, Response } from 'express'
import multer from 'multer'
import { z } from 'zod'
import { ForbiddenError, NotFoundError, PayloadTooLargeError, ValidationError } from '../../domain/errors.ts'
import { genericThingTypeId } from '../../domain/thing-type/thing-type.ts'
import { devicesOfBatch, toProvisionedDeviceView } from '../../projections/provisioned-devices.ts'
import { thingViewOf } from '../../projections/things.ts'
import { principalOf } from '../http/auth.ts'
import { endpoint, uuidParam, written, type Endpoint, type Reply } from '../http/endpoint.ts'
import { accountOf } from '../http/tenancy.ts'
import type { CommandContext } from '../handle-command.ts'
import type { RouteDeps } from '../route-deps.ts'
import { thingResponse } from '../thing/schemas.ts'
import { devicesToCsv, maxCsvBytes, parseProvisioningCsv } from './csv.ts'
import { pairThing } from './pair-thing.ts'
import { provisionBatch, serialQueue, type BatchRequest, type BatchResult } from './provision-batch.ts'
import { batchBody, batchQuery, csvFormFields, pairThingBody, provisionedDeviceResponse } from './schemas.ts'

const batchNotFound = (id: string) => new NotFoundError(`Provisioning batch ${id} not found`, 'batch_not_found')

const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/

function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('Idempotency-Key')
  if (key === undefined) return undefined
  if (!idempotencyKeyPattern.test(key)) {
    throw new ValidationError('Idempotency-Key must be 1-255 visible ASCII characters', [
      { field: 'Idempotency-Key', problem: 'must be 1-255 visible ASCII characters' },
    ])
  }
  return key
}

/** multer's errors, in our vocabulary. */
function uploadError(error: unknown): Error {
  if (error instanceof multer.MulterError) {
    if (error.code === 'LIMIT_FILE_SIZE') return new PayloadTooLargeError(`The CSV file exceeds ${maxCsvBytes} bytes`)
    if (error.code === 'LIMIT_UNEXPECTED_FILE') {
      return new ValidationError('Send exactly one file, in the form field "file"', [{ field: error.field ?? 'file', problem: 'unexpected file field; use "file"' }])
    }
    return new ValidationError(`The upload was refused: ${error.message}`, [{ field: error.field ?? 'file', problem: error.message }])
  }
  if (error instanceof Error) {
    return new ValidationError(`The upload is not valid multipart/form-data: ${error.message}`, [{ field: 'file', problem: 'must be sent as multipart/form-data' }], 'malformed_body')
  }
  return new ValidationError('The upload is not valid multipart/form-data', [{ field: 'file', problem: 'must be sent as multipart/form-data' }], 'malformed_body')
}

/** Pairing takes a user's token; checked before the body is read. */
const requireUserToken: RequestHandler = (req, _res, next) => {
  if (!principalOf(req).userId) return next(new ForbiddenError('Pairing needs a user\'s token: log in as the user who owns the device', 'user_token_required'))
  next()
}

export function provisioningEndpoints(deps: RouteDeps): Endpoint[] {
  const tags = ['Provisioning']
  const serialize = serialQueue()
  const batchDeps = { eventStore: deps.eventStore, readStore: deps.readStore, readYourWrites: deps.readYourWrites, serialize }
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: maxCsvBytes, files: 1, fields: 10, fieldSize: 1024, parts: 12, headerPairs: 50 },
  }).single('file')
  const receiveFile: RequestHandler = (req, res, next) => {
    upload(req, res, (error: unknown) => next(error ? uploadError(error) : undefined))
  }
  /** The devices as JSON, or written as a CSV file. */
  const answer = (res: Response, result: BatchResult, dryRun: boolean, csv: boolean): Reply | typeof written => {
    const headers = { 'X-Batch-Id': result.batchId, ...(!result.created && !dryRun ? { 'Idempotent-Replayed': 'true' } : {}) }
    const status = dryRun ? 200 : 201
    if (!csv) return { status, body: result.devices, headers }
    res.set(headers).status(status).type('text/csv').send(devicesToCsv(result.devices))
    return written
  }
  const batchResponses = {
    200: { description: 'dry_run: the batch is valid; nothing was provisioned', schema: z.array(provisionedDeviceResponse), alternatives: { 'text/csv': z.string() } },
    201: {
      description: 'The provisioned devices (also for a retry with the same Idempotency-Key)',
      schema: z.array(provisionedDeviceResponse),
      alternatives: { 'text/csv': z.string() },
      headers: { 'X-Batch-Id': 'the batch id (GET /v1.1/things/registry/batch/{batchId})' },
    },
    409: { description: 'The Idempotency-Key was used for another request' },
  }
  const idempotencyHeader = {
    name: 'Idempotency-Key',
    description: 'a retry with the same key and request returns the first answer and provisions nothing more',
  }
  const provision = (req: Request, source: 'batch' | 'csv', rows: BatchRequest['rows'], dryRun: boolean, context: CommandContext) =>
    provisionBatch(
      { accountId: accountOf(req), applicationId: principalOf(req).applicationId, source, rows, idempotencyKey: idempotencyKeyOf(req), dryRun },
      batchDeps,
      context,
    )

  return [
    endpoint({
      method: 'post',
      path: '/v1.1/things/registry/batch',
      operationId: 'provisionBatch',
      summary: 'Batch provision devices of a single type (up to 500; all or nothing)',
      tags,
      auth: 'bearer',
      query: batchQuery,
      headers: [idempotencyHeader],
      body: batchBody,
      bodyOptional: true,
      responses: batchResponses,
      async handle({ req, res, body, query, context }) {
        const hardwareIds = body.hardware_ids
        if (hardwareIds === undefined && body.count === undefined) {
          throw new ValidationError('Send count, hardware_ids, or both', [{ field: 'count', problem: 'is required when hardware_ids is not sent' }])
        }
        if (hardwareIds !== undefined && body.count !== undefined && hardwareIds.length !== body.count) {
          throw new ValidationError(`count is ${body.count} but hardware_ids has ${hardwareIds.length} entries`, [
            { field: 'count', problem: `must equal the length of hardware_ids (${hardwareIds.length})` },
          ])
        }
        if (hardwareIds !== undefined && hardwareIds.length === 0) {
          throw new ValidationError('hardware_ids is empty', [{ field: 'hardware_ids', problem: 'must not be empty' }])
        }
        const deviceTypeId = body.device_type_id ?? genericThingTypeId
        const codec = body.codec ?? null
        const rows: BatchRequest['rows'] = (hardwareIds ?? Array.from({ length: body.count ?? 0 }, () => null)).map((hardwareId, i) => ({
          hardwareId,
          deviceTypeId,
          codec,
          fieldNames: { hardwareId: `hardware_ids[${i}]`, deviceTypeId: 'device_type_id' },
        }))
        const dryRun = query.dry_run ?? body.dry_run ?? false
        return answer(res, await provision(req, 'batch', rows, dryRun, context()), dryRun, body.response_csv ?? false)
      },
    }),
    endpoint({
      method: 'post',
      path: '/v1.1/things/registry/csv',
      operationId: 'provisionCsv',
      summary: 'Batch provision devices of several types from a CSV file (up to 500 rows; all or nothing)',
      description:
        'multipart/form-data with the file in field `file`: a header line naming `hardware_id` (required), `device_type_id`, `codec` in any order ' +
        '(other columns are ignored), then one device per line. Errors name rows by their line in the file (the header is line 1).',
      tags,
      auth: 'bearer',
      before: [receiveFile],
      query: batchQuery,
      headers: [idempotencyHeader],
      body: csvFormFields,
      bodyOptional: true,
      documentedBody: z.object({
        file: z.string().meta({ format: 'binary' }).describe('the CSV file'),
        response_csv: z.enum(['true', 'false']).optional(),
        dry_run: z.enum(['true', 'false']).optional(),
      }),
      bodyMediaTypes: ['multipart/form-data'],
      responses: batchResponses,
      async handle({ req, res, body: fields, query, context }) {
        if (!req.file) {
          throw new ValidationError('Send the CSV file as multipart/form-data in the field "file"', [{ field: 'file', problem: 'is required' }])
        }
        const rows = parseProvisioningCsv(req.file.buffer)
        const dryRun = query.dry_run ?? fields.dry_run ?? false
        return answer(res, await provision(req, 'csv', rows, dryRun, context()), dryRun, fields.response_csv ?? false)
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/things/registry/batch/{batchId}',
      operationId: 'getProvisioningBatch',
      summary: 'The devices of a provisioning batch and whether each is paired (beyond the API text)',
      tags,
      auth: 'bearer',
      params: { batchId: uuidParam('the X-Batch-Id of the provisioning answer', batchNotFound) },
      responses: { 200: { description: 'The batch\'s devices', schema: z.array(provisionedDeviceResponse) } },
      async handle({ req, params }) {
        const devices = (await devicesOfBatch(deps.readStore, accountOf(req), params.batchId)).map(toProvisionedDeviceView)
        if (devices.length === 0) throw batchNotFound(params.batchId)
        return { body: devices }
      },
    }),
    endpoint({
      method: 'post',
      path: '/v1.1/things/pair',
      operationId: 'pairThing',
      summary: 'Pair a provisioned device with the user\'s account (needs a user token)',
      tags,
      auth: 'bearer',
      before: [requireUserToken],
      body: pairThingBody,
      responses: {
        200: { description: 'The device, now an ACTIVE thing of the user\'s account', schema: thingResponse, headers: { ETag: 'revision' } },
        409: { description: 'The device is already paired' },
      },
      async handle({ req, body, context }) {
        const result = await pairThing(body, accountOf(req), principalOf(req).userId!, deps.readStore, context())
        await deps.readYourWrites(result.position)
        if (!result.state.exists) throw new Error('thing was not paired')
        return { body: thingViewOf(result.state), revision: result.revision }
      },
    }),
  ]
}
