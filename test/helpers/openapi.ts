/**
 * Checks responses against the OpenAPI document the server publishes: every response a
 * test receives through `api()` must match the documented schema for its operation.
 */
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { ValidateFunction } from 'ajv'

interface OpenApiDoc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>
  components: { schemas: Record<string, object> }
}

export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true })
  private readonly cache = new Map<string, ValidateFunction>()
  private readonly routes: { pattern: RegExp; path: string }[]

  constructor(private readonly doc: OpenApiDoc) {
    this.ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)
    this.ajv.addFormat('date-time', { validate: (s: string) => !Number.isNaN(Date.parse(s)) })
    this.ajv.addSchema({ $id: 'components', components: doc.components })
    this.routes = Object.keys(doc.paths).map((path) => ({
      path,
      pattern: new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }))
  }

  /** The documented path for a concrete URL path, most specific (fewest parameters) first. */
  private match(urlPath: string): string | undefined {
    const candidates = this.routes.filter((r) => r.pattern.test(urlPath))
    candidates.sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0))
    return candidates[0]?.path
  }

  /** Returns the problems found; an empty array means the response is as documented. */
  check(method: string, urlPath: string, status: number, contentType: string | null, body: unknown): string[] {
    const path = this.match(urlPath)
    if (!path) return [`${method} ${urlPath} is not in the OpenAPI document`]
    const operation = this.doc.paths[path]?.[method.toLowerCase()]
    if (!operation) return [`${method} ${path} is not in the OpenAPI document`]
    const response = operation.responses[String(status)]
    if (!response) return [`${method} ${path} does not document status ${status}`]
    if (!response.content) return []
    const mediaType = (contentType ?? '').split(';')[0]!.trim()
    const media = response.content[mediaType]
    if (!media) return [`${method} ${path} ${status} does not document content type ${mediaType}`]
    const key = `${method} ${path} ${status} ${mediaType}`
    let validate = this.cache.get(key)
    if (!validate) {
      const schema = JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/', '"components#/components/'))
      validate = this.ajv.compile(schema)
      this.cache.set(key, validate)
    }
    // NDJSON: the schema is that of each line
    const items = mediaType === 'application/x-ndjson' && typeof body === 'string' ? body.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as unknown) : [body]
    const problems: string[] = []
    for (const item of items) if (!validate(item)) problems.push(...(validate.errors ?? []).map((e) => `${key}: ${e.instancePath} ${e.message}`))
    return problems
  }
}
