/**
 * Runs the real `capsicum` command as a child process, for what only a separate process
 * shows: SIGKILL, SIGTERM, exit codes, the CLI's output.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

export const binPath = fileURLToPath(new URL('../../adapters/cli/bin.js', import.meta.url))

export interface ServerProcess {
  readonly child: ChildProcess
  readonly url: string
  /** resolves with the exit code (or signal) when the process ends */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly logLines: string[]
}

/** Starts `capsicum start` and resolves once it says where it listens. */
export function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [binPath, 'start'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'info', RATE_LIMITS: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logLines: string[] = []
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      logLines.push(line)
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string }
        if (entry.msg === 'Capsicum is listening' && entry.url) resolve({ child, url: entry.url, exited, logLines })
      } catch {
        // not a log line
      }
    })
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before listening: ${stderr}`)))
  })
}

/** Runs `capsicum ...args` to completion (a `start` among them binds MQTT on a free port: 1883 is taken here). */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [binPath, ...args], {
    env: { ...process.env, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
}
