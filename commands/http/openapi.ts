/**
 * The OpenAPI 3.1 document, assembled from the same zod schemas the routes validate
 * with. Each route module describes its operations here; tests check every response
 * they receive against the document.
 */
import { z } from 'zod'

export interface ResponseSpec {
  readonly description: string
  readonly schema?: z.ZodType
  readonly contentType?: string
  readonly headers?: Readonly<Record<string, string>>
  /** further media types the same status may answer with (e.g. text/csv beside JSON) */
  readonly alternatives?: Readonly<Record<string, z.ZodType>>
}

export interface OperationSpec {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete'
  /** OpenAPI form: /v1.1/things/types/{typeId} */
  readonly path: string
  readonly operationId: string
  readonly summary: string
  readonly description?: string
  readonly tags: readonly string[]
  readonly secured: boolean
  readonly body?: z.ZodType
  /** the body's media types; default JSON and form-encoded */
  readonly bodyMediaTypes?: readonly string[]
  readonly query?: z.ZodObject
  readonly pathParams?: Readonly<Record<string, string>>
  readonly headers?: readonly { readonly name: string; readonly description: string }[]
  readonly responses: Readonly<Record<number, ResponseSpec>>
}

export const errorBodySchema = z
  .object({
    error: z.string().describe('stable, machine-readable code'),
    message: z.string().describe('what went wrong, for people'),
    details: z.array(z.object({ field: z.string(), problem: z.string() })),
    limit: z
      .object({
        name: z.string().describe('the limit that refused (api_per_token, api_per_account, token_per_address, token_per_email)'),
        count: z.number().int().describe('what the limit allows per window'),
        window_seconds: z.number().int(),
        reset_at: z.string().describe('ISO time the window resets'),
        retry_after_seconds: z.number().int(),
      })
      .optional()
      .describe('a 429: which rate limit refused, and when it lets requests through again'),
  })
  .meta({ title: 'Error' })

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>
  return rest
}

const standardErrors: Record<number, string> = {
  400: 'Invalid request: `details` names each offending field',
  401: 'Missing, malformed, expired or tampered bearer token',
  403: 'The token is valid but may not do this',
  404: 'No such resource in the caller\'s account',
  413: 'The request body exceeds BODY_LIMIT',
  429: 'A rate limit refused the request: `limit` names it; `Retry-After`, `RateLimit` and `RateLimit-Policy` say when to come back',
}

const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }

export class OpenApiDocument {
  private readonly operations: OperationSpec[] = []

  constructor(private readonly info: { title: string; version: string; description: string }) {}

  add(operation: OperationSpec): void {
    this.operations.push(operation)
  }

  toJSON(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {}
    for (const op of this.operations) {
      const parameters: unknown[] = []
      for (const [name, description] of Object.entries(op.pathParams ?? {})) {
        parameters.push({ name, in: 'path', required: true, description, schema: { type: 'string' } })
      }
      if (op.query) {
        for (const [name, schema] of Object.entries(op.query.shape)) {
          parameters.push({
            name,
            in: 'query',
            required: !(schema as z.ZodType).safeParse(undefined).success,
            schema: jsonSchema(schema as z.ZodType, 'input'),
          })
        }
      }
      for (const header of op.headers ?? []) {
        parameters.push({ name: header.name, in: 'header', required: false, description: header.description, schema: { type: 'string' } })
      }
      parameters.push({
        name: 'X-API-Version',
        in: 'header',
        required: false,
        description: 'API version; absent means 1.0, the only version served',
        schema: { type: 'string', enum: ['1.0'] },
      })
      const responses: Record<string, unknown> = {}
      for (const [status, response] of Object.entries(op.responses)) {
        responses[status] = {
          description: response.description,
          ...(response.headers
            ? { headers: Object.fromEntries(Object.entries(response.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) }
            : {}),
          ...(response.schema
            ? {
                content: {
                  [response.contentType ?? 'application/json']: { schema: jsonSchema(response.schema, 'output') },
                  ...Object.fromEntries(Object.entries(response.alternatives ?? {}).map(([type, schema]) => [type, { schema: jsonSchema(schema, 'output') }])),
                },
              }
            : Number(status) >= 400
              ? { content: errorContent }
              : {}),
        }
      }
      const errors = [400, 404, ...(op.secured ? [401, 403, 429] : []), ...(op.body ? [413] : [])]
      for (const status of errors.sort((a, b) => a - b)) {
        responses[String(status)] ??= { description: standardErrors[status], content: errorContent }
      }
      paths[op.path] ??= {}
      paths[op.path]![op.method] = {
        operationId: op.operationId,
        summary: op.summary,
        ...(op.description ? { description: op.description } : {}),
        tags: op.tags,
        ...(op.secured ? { security: [{ bearerAuth: [] }] } : { security: [] }),
        ...(parameters.length ? { parameters } : {}),
        ...(op.body
          ? {
              requestBody: {
                required: true,
                content: Object.fromEntries(
                  (op.bodyMediaTypes ?? ['application/json', 'application/x-www-form-urlencoded']).map((type) => [
                    type,
                    { schema: jsonSchema(op.body!, 'input') },
                  ]),
                ),
              },
            }
          : {}),
        responses,
      }
    }
    return {
      openapi: '3.1.0',
      info: this.info,
      paths,
      components: {
        schemas: { Error: jsonSchema(errorBodySchema, 'output') },
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    }
  }
}
