/**
 * compose.yaml is valid for Docker Compose (Debian's `docker-compose` validates a file
 * without a Docker engine; .ci/run installs it) and has the topology the README describes:
 * the four engines and Capsicum's roles, each with a health check, built from the
 * Dockerfile. Nothing here starts a container.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('..', import.meta.url))
const compose = readFileSync(new URL('../compose.yaml', import.meta.url), 'utf8')
const hasDockerCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0

t.test(
  'docker-compose config accepts compose.yaml',
  hasDockerCompose ? {} : { skip: 'docker-compose is not installed (apt-get install docker-compose; .ci/run does)' },
  async (t) => {
    const result = spawnSync('docker-compose', ['-f', 'compose.yaml', 'config', '-q'], { cwd: root, encoding: 'utf8' })
    t.equal(result.status, 0, result.stderr || 'valid')
    const services = spawnSync('docker-compose', ['-f', 'compose.yaml', 'config', '--services'], { cwd: root, encoding: 'utf8' })
    t.strictSame(
      services.stdout.trim().split('\n').sort(),
      ['api-1', 'api-2', 'kafka', 'kurrentdb', 'mongodb', 'processor', 'projector', 'redis', 'scheduler'],
      'the engines, two api/mqtt nodes and one node of each other role',
    )
  },
)

t.test('compose.yaml: topology, health checks, roles', async (t) => {
  const services = compose.split(/\n(?= {2}[a-z0-9-]+:\n)/).slice(1)
  for (const name of ['kurrentdb', 'mongodb', 'kafka', 'redis']) {
    const block = services.find((s) => s.startsWith(`  ${name}:`))
    t.ok(block, `${name} is a service`)
    t.match(block, /healthcheck:/, `${name} has a health check`)
  }
  t.match(compose, /--replSet", "rs0"/, 'MongoDB runs as a replica set')
  t.match(compose, /KAFKA_PROCESS_ROLES: broker,controller/, 'Kafka runs in KRaft mode')
  t.match(compose, /x-capsicum: &capsicum\n {2}build: \./, 'the Capsicum nodes are built from the Dockerfile')
  t.match(compose, /x-capsicum:[\s\S]*healthcheck:[\s\S]*\/readyz/, 'and report ready through /readyz')
  for (const role of ['api,mqtt', 'projector', 'processor', 'scheduler']) {
    t.match(compose, new RegExp(`command: \\["start", "--role", "${role}"\\]`), `a node runs ${role}`)
  }
  for (const variable of ['EVENTSTORE_URL', 'MONGODB_URL', 'KAFKA_BROKERS', 'REDIS_URL']) t.match(compose, new RegExp(`${variable}: `))
})

t.test('Dockerfile: node 20 on bookworm, production dependencies only', async (t) => {
  const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8')
  t.match(dockerfile, /^FROM node:20-bookworm$/m)
  t.match(dockerfile, /npm ci --omit=dev/)
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }
  t.ok(pkg.dependencies.tsx, 'tsx, which runs the server, is a runtime dependency')
})

t.test('the server runs with the same Node flags however it is started: the capsicum command, npm start, the image', async (t) => {
  const { serverNodeFlags } = await import('../bench/server-flags.ts')
  t.ok(serverNodeFlags.includes('--max-semi-space-size=64'), `the command's shebang gives the flags: ${serverNodeFlags.join(' ')}`)
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }
  t.equal(pkg.scripts.start, `node ${serverNodeFlags.join(' ')} adapters/cli/bin.js start`, 'npm start')
  const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8')
  t.match(dockerfile, `ENTRYPOINT ${JSON.stringify(['node', ...serverNodeFlags, 'adapters/cli/bin.js'])}`.replaceAll(',', ', '), 'the image')
})
