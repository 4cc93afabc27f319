/**
 * One declaration per endpoint: the same descriptor feeds the OpenAPI document and the
 * router, and one wrapper does what every endpoint repeats (validation of path, query
 * and body, the If-Match revision, waiting for the read models, the ETag, the status).
 * Handlers return what to answer; the error mapping stays in errors.ts.
 */
import { Router, type Request, type RequestHandler, type Response } from 'express'
import type { z } from 'zod'
import { ForbiddenError, type NotFoundError } from '../../domain/errors.ts'
import type { CommandContext } from '../handle-command.ts'
import type { RouteDeps } from '../route-deps.ts'
import { principalOf, type Role } from './auth.ts'
import { ifMatchRevision, setRevisionTag } from './etag.ts'
import type { OperationSpec, ResponseSpec } from './openapi.ts'
import { commandContextOf, uuidParamOf } from './requests.ts'
import { parseInput } from './validate.ts'

/** A path parameter that names a resource by UUID; anything else is that resource's 404. */
export interface UuidParam {
  readonly description: string
  readonly notFound: (id: string) => NotFoundError
}

export const uuidParam = (description: string, notFound: (id: string) => NotFoundError): UuidParam => ({ description, notFound })

/** A path parameter that is not a UUID (a channel, an MQTT client id): taken as it is, or checked by `notFound`. */
export interface TextParam {
  readonly kind: 'text'
  readonly description: string
  /** the 404 for a value that names nothing (with the parameters declared before it), or undefined when the value is fine */
  readonly notFound?: (value: string, params: Readonly<Record<string, string>>) => NotFoundError | undefined
}

export const textParam = (description: string, notFound?: TextParam['notFound']): TextParam => ({ kind: 'text', description, ...(notFound ? { notFound } : {}) })

export type PathParam = UuidParam | TextParam

/** The value of a path parameter, checked by its kind; `params` holds those checked before it. */
function pathParamOf(req: Request, name: string, param: PathParam, params: Readonly<Record<string, string>>): string {
  if (!('kind' in param)) return uuidParamOf(req, name, param.notFound)
  const value = String(req.params[name])
  const notFound = param.notFound?.(value, params)
  if (notFound) throw notFound
  return value
}

/** What a handler answers. */
export interface Reply {
  /** default 200 */
  readonly status?: number
  /** sent as JSON; absent: an empty answer */
  readonly body?: unknown
  /** the stream revision the answer reflects: its ETag */
  readonly revision?: number
  /** the log position of the events the request wrote: answered once the read models include it */
  readonly position?: number | null
  /** further response headers (Cache-Control, a batch id) */
  readonly headers?: Readonly<Record<string, string>>
}

/** A handler that wrote the response itself (a CSV file, an event stream) returns this. */
export const written = Symbol('written')

type OutputOf<S> = S extends z.ZodType ? z.output<S> : undefined

export interface EndpointInput<P extends string, Q, B> {
  readonly req: Request
  readonly res: Response
  readonly params: Readonly<Record<P, string>>
  readonly query: Q
  readonly body: B
  /** the command handler's context for a write of this request (with the If-Match revision when declared) */
  context(): CommandContext
}

export interface EndpointSpec<P extends string, QS extends z.ZodObject | undefined, BS extends z.ZodType | undefined>
  extends Omit<OperationSpec, 'secured' | 'pathParams' | 'query' | 'body' | 'headers'> {
  /** `bearer`: a valid access token; `none`: open (or authenticated by `before`) */
  readonly auth: 'bearer' | 'none'
  /** with `bearer`: the token needs one of these roles (403 otherwise) */
  readonly roles?: readonly Role[]
  readonly params?: Readonly<Record<P, PathParam>>
  /** its defaults must be constants: an empty query string is parsed once, at start */
  readonly query?: QS
  readonly body?: BS
  /** the body as the document shows it, when it differs from what `body` validates (multipart: the file is not in req.body) */
  readonly documentedBody?: z.ZodType
  /** an absent body is taken as `{}` (every field of the body is optional) */
  readonly bodyOptional?: boolean
  /** the write applies only to the revision named by If-Match (412 otherwise); an object words the header's description */
  readonly ifMatch?: boolean | { readonly description: string }
  readonly headers?: OperationSpec['headers']
  /** middleware that runs after authentication, before the body is validated (uploads, other authentication) */
  readonly before?: readonly RequestHandler[]
  handle(input: EndpointInput<P, OutputOf<QS>, OutputOf<BS>>): Promise<Reply | typeof written>
}

/** An endpoint of any shape, as the router and the document take it. */
export interface Endpoint {
  readonly spec: EndpointSpec<string, z.ZodObject | undefined, z.ZodType | undefined>
}

/** Declares an endpoint; the generics carry the schemas' types to the handler. */
export function endpoint<P extends string = never, QS extends z.ZodObject | undefined = undefined, BS extends z.ZodType | undefined = undefined>(
  spec: EndpointSpec<P, QS, BS>,
): Endpoint {
  return { spec: spec as unknown as Endpoint['spec'] }
}

const ifMatchHeader = { name: 'If-Match', description: 'apply only if the resource is still at this ETag (412 otherwise)' }
const preconditionFailed: ResponseSpec = { description: 'If-Match no longer holds' }

/** The OpenAPI operation of an endpoint. */
export function operationOf({ spec }: Endpoint): OperationSpec {
  const { auth, roles: _roles, params, query, body, documentedBody, bodyOptional: _bodyOptional, ifMatch, headers, before: _before, handle: _handle, responses, ...rest } = spec
  return {
    ...rest,
    secured: auth === 'bearer',
    ...(params ? { pathParams: Object.fromEntries(Object.entries<PathParam>(params).map(([name, p]) => [name, p.description])) } : {}),
    ...(query ? { query } : {}),
    ...(documentedBody ?? body ? { body: documentedBody ?? body } : {}),
    ...(ifMatch || headers
      ? { headers: [...(ifMatch ? [ifMatch === true ? ifMatchHeader : { ...ifMatchHeader, description: ifMatch.description }] : []), ...(headers ?? [])] }
      : {}),
    responses: ifMatch ? { ...responses, 412: responses[412] ?? preconditionFailed } : responses,
  }
}

function requireOneOf(roles: readonly Role[]): RequestHandler {
  return (req, _res, next) => {
    if (!principalOf(req).roles.some((role) => roles.includes(role))) return next(new ForbiddenError(`This call needs the ${roles.join(' or ')} role`))
    next()
  }
}

const parameterPattern = /\{([^}]+)\}/g

/** `/v1.1/things/{thingId}` → `/v1.1/things/:thingId` */
const expressPathOf = (path: string): string => path.replace(parameterPattern, ':$1')

/** Whether a request for `later`'s literal path would be taken by `earlier` (a parameter where `later` has a word). */
function shadows(earlier: OperationSpec, later: OperationSpec): boolean {
  if (earlier.method !== later.method) return false
  const a = earlier.path.split('/')
  const b = later.path.split('/')
  if (a.length !== b.length) return false
  let wider = false
  for (let i = 0; i < a.length; i++) {
    const aParam = a[i]!.startsWith('{')
    const bParam = b[i]!.startsWith('{')
    if (aParam && !bParam) wider = true
    else if (!aParam && (bParam || a[i] !== b[i])) return false
  }
  return wider
}

/**
 * The routes of a list of endpoints, in their order. A miswired list fails here, at start:
 * a path parameter without its declaration (or the reverse), an operation declared twice,
 * or an endpoint that an earlier one would take the requests of.
 */
export function routerOf(deps: Pick<RouteDeps, 'openapi' | 'requireBearer' | 'readYourWrites' | 'eventStore' | 'now' | 'newId'>, endpoints: readonly Endpoint[]): RequestHandler {
  const router = Router()
  const byMethod = new Map<string, Router>()
  const operations = endpoints.map(operationOf)
  operations.forEach((operation, i) => {
    const inPath = [...operation.path.matchAll(parameterPattern)].map((m) => m[1]!).sort()
    const declared = Object.keys(operation.pathParams ?? {}).sort()
    if (inPath.join() !== declared.join()) {
      throw new Error(`${operation.method.toUpperCase()} ${operation.path}: path parameters ${inPath.join(', ') || 'none'} but declared ${declared.join(', ') || 'none'}`)
    }
    for (const earlier of operations.slice(0, i)) {
      if (earlier.method === operation.method && earlier.path === operation.path) {
        throw new Error(`${operation.method.toUpperCase()} ${operation.path} is declared twice`)
      }
      if (shadows(earlier, operation)) {
        throw new Error(`${operation.method.toUpperCase()} ${operation.path} would be answered by ${earlier.path}: declare it first`)
      }
    }
  })

  for (const [i, { spec }] of endpoints.entries()) {
    deps.openapi.add(operations[i]!)
    const params = Object.entries<PathParam>(spec.params ?? {})
    const emptyQuery = spec.query?.safeParse({})
    const queryOf = (req: Request): unknown =>
      !spec.query ? undefined : !req.url.includes('?') && emptyQuery?.success ? emptyQuery.data : parseInput(spec.query, req.query, 'query')
    const handler: RequestHandler = async (req, res) => {
      // validated in this order: the path parameters, the body, the query
      const pathParams: Record<string, string> = {}
      for (const [name, param] of params) pathParams[name] = pathParamOf(req, name, param, pathParams)
      const body: unknown = spec.body ? parseInput(spec.body, spec.bodyOptional ? (req.body ?? {}) : req.body) : undefined
      const input: EndpointInput<string, unknown, unknown> = {
        req,
        res,
        params: pathParams,
        query: queryOf(req),
        body,
        context: () => commandContextOf(deps, req, spec.ifMatch ? ifMatchRevision(req) : undefined),
      }
      const reply = await spec.handle(input as Parameters<typeof spec.handle>[0])
      if (reply === written) return
      if (reply.position !== undefined) await deps.readYourWrites(reply.position)
      if (reply.revision !== undefined) setRevisionTag(res, reply.revision)
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value)
      res.status(reply.status ?? 200)
      if (reply.body === undefined) res.end()
      else res.json(reply.body)
    }
    const chain = [...(spec.auth === 'bearer' ? [deps.requireBearer] : []), ...(spec.roles ? [requireOneOf(spec.roles)] : []), ...(spec.before ?? []), handler]
    router[spec.method](expressPathOf(spec.path), ...chain)
    const method = spec.method.toUpperCase()
    if (!byMethod.has(method)) byMethod.set(method, Router())
    byMethod.get(method)![spec.method](expressPathOf(spec.path), ...chain)
  }
  // A request tries only the routes of its method (HEAD: GET's), in their order; any other
  // method (OPTIONS: express answers it with the methods the path allows) tries them all.
  return (req, res, next) => (byMethod.get(req.method === 'HEAD' ? 'GET' : req.method) ?? router)(req, res, next)
}
