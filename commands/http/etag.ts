/**
 * Optimistic concurrency over HTTP: a resource's ETag is its stream revision, and a
 * write with If-Match applies only to that revision (412 otherwise).
 */
import type { Request, Response } from 'express'
import { ValidationError } from '../../domain/errors.ts'

export function setRevisionTag(res: Response, revision: number): void {
  res.setHeader('ETag', `"${revision}"`)
}

export function ifMatchRevision(req: Request): number | undefined {
  const header = req.get('If-Match')
  if (header === undefined || header.trim() === '*') return undefined
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header)
  if (!match) {
    throw new ValidationError('If-Match must be an ETag this server issued', [{ field: 'If-Match', problem: 'must look like "3"' }])
  }
  return Number(match[1])
}
