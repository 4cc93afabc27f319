/**
 * The one validation approach: zod schemas at the edge. The same schemas feed the
 * OpenAPI document, so what is documented is what is enforced. Failures become a
 * ValidationError whose details name every offending field.
 */
import { z } from 'zod'
import { ValidationError, type ErrorDetail } from '../../domain/errors.ts'

type Issue = z.core.$ZodRawIssue

/** Short messages that read well after the field's name: "name: is required". */
function describeIssue(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required'
      if (issue.expected === 'int') return 'must be a whole number'
      return `must be ${issue.expected === 'object' || issue.expected === 'array' ? 'an' : 'a'} ${issue.expected}${issue.input === null ? ', not null' : ''}`
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`
    case 'too_small':
      return issue.origin === 'string' ? (issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`) : `must be at least ${issue.minimum}`
    case 'too_big':
      return issue.origin === 'string' ? `must be at most ${issue.maximum} characters` : `must be at most ${issue.maximum}`
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`
    default:
      return undefined
  }
}

function detailsOf(error: z.ZodError, root: string): ErrorDetail[] {
  return error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.map(String).join('.') : root,
    problem: issue.message,
  }))
}

/** Parses untrusted input or throws a ValidationError naming each bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: 'body' | 'query' = 'body'): z.output<S> {
  const result = schema.safeParse(input, { error: (issue) => describeIssue(issue) })
  if (result.success) return result.data
  const details = detailsOf(result.error, what)
  const summary = details.map((d) => `${d.field} ${d.problem}`).join('; ')
  throw new ValidationError(`Invalid request ${what}: ${summary}`, details)
}

// Field builders shared by the resources ---------------------------------------------

/** A required, trimmed, non-empty string. */
export const requiredText = (max = 255) => z.string().trim().min(1).max(max)

/** An optional string; null and "" both mean "no value". */
export const optionalText = (max = 255) =>
  z
    .string()
    .trim()
    .max(max)
    .nullable()
    .transform((v) => v || null)
    .optional()
