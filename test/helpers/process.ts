/**
 * Runs the real `capsicum` command as a child process, for what only a separate process
 * shows: SIGKILL, SIGTERM, exit codes, the CLI's output.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
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

const serverEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  MQTT_PORT: '0',
  MQTT_HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  RATE_LIMITS: 'off',
  ...env,
})

/** Resolves once the server on `child`'s stdout says where it listens; `onLine` sees every line. */
function untilListening(child: ChildProcess, onLine: (line: string) => void = () => {}): Promise<ServerProcess> {
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
      onLine(line)
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

/** Starts `capsicum start` and resolves once it says where it listens. */
export function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [binPath, 'start'], { env: serverEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  return untilListening(child)
}

/**
 * Starts `capsicum start` under a parent that never reaps its children (a shell that execs
 * `sleep`), so a killed server stays a zombie until that parent ends. `child` is the parent.
 */
export async function startServerUnderNonReapingParent(env: Record<string, string>): Promise<ServerProcess & { serverPid: number }> {
  const script = '"$0" "$1" start & echo "server-pid $!"; exec sleep 600'
  const child = spawn('sh', ['-c', script, process.execPath, binPath], { env: serverEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let serverPid = 0
  const server = await untilListening(child, (line) => {
    const match = /^server-pid (\d+)$/.exec(line)
    if (match) serverPid = Number(match[1])
  })
  if (serverPid === 0) throw new Error('the shell did not say the server\'s pid')
  return { ...server, serverPid }
}

/** The state letter of /proc/<pid>/stat (R, S, D, Z, ...), or null once the process is gone. */
export function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name in parentheses may itself hold spaces or parentheses
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null
  } catch {
    return null
  }
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
