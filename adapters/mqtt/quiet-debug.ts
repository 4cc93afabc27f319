/**
 * Loggers of the `debug` package that are off cost nothing. mqtt-packet calls `debug()`
 * about ten times a packet, and `debug` gathers each call's arguments into an array (a rest
 * parameter) before it looks whether the logger is enabled: 1.1 KB of garbage and about
 * 1 µs a reading, the largest single cost in the server's profile that was no work at all.
 *
 * From here on, `require('debug')(namespace)` gives the real logger when `DEBUG` enables the
 * namespace at start, and otherwise a function without parameters that does nothing (a call
 * allocates nothing). Enabling a namespace later (`debug.enable()`) reaches only loggers
 * made after it. This module must run before mqtt-packet is loaded: broker.ts imports it
 * first. Loggers made before it (by a library loaded earlier) stay as they were.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

interface DebugLogger {
  (...args: unknown[]): void
  enabled: boolean
  readonly namespace: string
  extend(namespace: string, delimiter?: string): DebugLogger
}

type CreateDebug = ((namespace: string) => DebugLogger) & Record<string, unknown>

const require = createRequire(import.meta.url)
const requireFromPacket = createRequire(require.resolve('mqtt-packet'))
const debugPath = requireFromPacket.resolve('debug')
const createDebug = requireFromPacket('debug') as CreateDebug
/** mqtt-packet's parser was loaded before this module: its loggers are the real ones */
const packetLoadedFirst = require.cache[join(dirname(require.resolve('mqtt-packet')), 'parser.js')] !== undefined

function quietDebug(namespace: string): DebugLogger {
  const real = createDebug(namespace)
  if (real.enabled) return real
  const off = Object.assign(function off(): void {}, {
    enabled: false,
    namespace,
    extend: (more: string, delimiter = ':') => quietDebug(`${namespace}${delimiter}${more}`),
  })
  return off
}

const cached = require.cache[debugPath]
if (cached !== undefined && cached.exports === createDebug) {
  cached.exports = Object.assign(quietDebug, createDebug, { default: quietDebug, debug: quietDebug })
}

/** Whether mqtt-packet's loggers cost nothing when off (it was loaded after this module). */
export const packetLoggersAreQuiet = (): boolean => !packetLoadedFirst && requireFromPacket('debug') === quietDebug
