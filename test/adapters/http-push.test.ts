/**
 * The HTTP push adapter against a real local HTTP server: what is sent, how answers are
 * sorted, and the SSRF guard (addresses refused, the vetted address pinned).
 */
import t from 'tap'
import { blockedReason, createHttpPusher } from '../../adapters/http-push.ts'
import { startReceiver } from '../helpers/deliveries.ts'

const spec = (url: string, over: object = {}) => ({ method: 'POST', url, headers: {}, payload: { temperature: 31 }, ...over })

t.test('addresses the guard refuses, and the ones it lets through', async (t) => {
  const refused: Record<string, string> = {
    '127.0.0.1': 'loopback',
    '127.255.0.9': 'loopback',
    '10.1.2.3': 'private',
    '172.16.0.1': 'private',
    '172.31.255.255': 'private',
    '192.168.1.1': 'private',
    '169.254.169.254': 'link-local',
    '100.64.0.1': 'carrier-grade NAT',
    '100.127.255.255': 'carrier-grade NAT',
    '0.0.0.0': 'unspecified',
    '224.0.0.251': 'multicast',
    '255.255.255.255': 'reserved',
    '::': 'unspecified',
    '::1': 'loopback',
    'fc00::1': 'private',
    'fd12:3456::1': 'private',
    'fe80::1': 'link-local',
    'fe80::1%eth0': 'link-local',
    'ff02::1': 'multicast',
    '::ffff:127.0.0.1': 'IPv4-mapped loopback',
    '::ffff:7f00:1': 'IPv4-mapped loopback',
    '::ffff:10.0.0.1': 'IPv4-mapped private',
    '::ffff:169.254.169.254': 'IPv4-mapped link-local',
    '64:ff9b::a9fe:a9fe': 'NAT64 link-local',
    '2002:c0a8:101::1': '6to4 private',
  }
  for (const [address, reason] of Object.entries(refused)) t.equal(blockedReason(address), reason, `${address} is ${reason}`)
  for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '169.255.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '2002:808:808::1']) {
    t.equal(blockedReason(address), null, `${address} is public`)
  }
})

t.test('with the guard on (the default)', async (t) => {
  const receiver = await startReceiver(t, () => ({ status: 200 }))
  const pusher = createHttpPusher({ allowPrivate: false, timeoutMs: 5000 })
  const loopback = await pusher.push(spec(`http://127.0.0.1:${receiver.port}/hook`), 'k1')
  t.match(loopback, { outcome: 'rejected', statusCode: null, error: /refused: 127\.0\.0\.1 is a loopback address/ })
  const named = await pusher.push(spec(`http://localhost:${receiver.port}/hook`), 'k2')
  t.match(named, { outcome: 'rejected', error: /refused: localhost resolves to .*loopback/ }, 'a name is resolved and each address vetted')
  const mapped = await pusher.push(spec(`http://[::ffff:127.0.0.1]:${receiver.port}/hook`), 'k3')
  t.match(mapped, { outcome: 'rejected', error: /IPv4-mapped loopback/ })
  const decimal = await pusher.push(spec(`http://2130706433:${receiver.port}/hook`), 'k4')
  t.match(decimal, { outcome: 'rejected', error: /loopback/ }, 'another spelling of 127.0.0.1')
  t.equal(receiver.received.length, 0, 'nothing reached the server')

  const mixed = createHttpPusher({ allowPrivate: false, timeoutMs: 5000, resolve: async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.7', family: 4 }] })
  t.match(await mixed.push(spec('http://mixed.example/hook'), 'k5'), { outcome: 'rejected', error: /10\.0\.0\.7, which is a private address/ }, 'one internal address among public ones is refused')

  t.match(await pusher.push(spec('ftp://example.com/x'), 'k6'), { outcome: 'rejected', error: /only http and https/ })
  t.match(await pusher.push(spec('not a url'), 'k7'), { outcome: 'rejected', error: /is not a URL/ })
  t.match(await pusher.push(spec('file:///etc/passwd'), 'k8'), { outcome: 'rejected', error: /only http and https/ })
})

t.test('with private targets allowed', async (t) => {
  let status = 200
  const receiver = await startReceiver(t, (r) => (r.url === '/slow' ? null : r.url === '/moved' ? { status: 302, headers: { location: 'http://169.254.169.254/' } } : { status }))
  const pusher = createHttpPusher({ allowPrivate: true, timeoutMs: 300 })

  const ok = await pusher.push(spec(`http://127.0.0.1:${receiver.port}/hook?x=1`, { method: 'put', headers: { Authorization: 'Bearer abc', 'X-Custom': 'yes' } }), 'delivery-1')
  t.strictSame(ok, { outcome: 'succeeded', statusCode: 200, error: null })
  const got = receiver.received[0]!
  t.equal(got.method, 'PUT')
  t.equal(got.url, '/hook?x=1')
  t.equal(got.headers.authorization, 'Bearer abc')
  t.equal(got.headers['x-custom'], 'yes')
  t.equal(got.headers['content-type'], 'application/json')
  t.equal(got.headers['idempotency-key'], 'delivery-1', 'the delivery id goes along, so the receiver can spot a repeat')
  t.strictSame(JSON.parse(got.body), { temperature: 31 })

  await pusher.push(spec(`http://127.0.0.1:${receiver.port}/get`, { method: 'GET' }), 'delivery-2')
  t.equal(receiver.received[1]!.body, '', 'no body on a GET')

  status = 500
  t.match(await pusher.push(spec(`http://127.0.0.1:${receiver.port}/hook`), 'd'), { outcome: 'failed', statusCode: 500 }, '5xx is worth another attempt')
  status = 429
  t.match(await pusher.push(spec(`http://127.0.0.1:${receiver.port}/hook`), 'd'), { outcome: 'failed', statusCode: 429 })
  status = 404
  t.match(await pusher.push(spec(`http://127.0.0.1:${receiver.port}/hook`), 'd'), { outcome: 'rejected', statusCode: 404 }, 'other 4xx are not')
  const before = receiver.received.length
  t.match(await pusher.push(spec(`http://127.0.0.1:${receiver.port}/moved`), 'd'), { outcome: 'rejected', statusCode: 302, error: /redirect to http:\/\/169\.254\.169\.254\/ not followed/ })
  t.equal(receiver.received.length, before + 1, 'the redirect was not followed')
  t.match(await pusher.push(spec(`http://127.0.0.1:${receiver.port}/slow`), 'd'), { outcome: 'failed', statusCode: null, error: /no answer within 300 ms/ })
  t.match(await pusher.push(spec(`http://127.0.0.1:${receiver.port}/hook`, { headers: { 'Bad Header': 'x' } }), 'd'), { outcome: 'rejected', error: /invalid request/ })
  t.match(await pusher.push(spec('http://127.0.0.1:1/hook'), 'd'), { outcome: 'failed', error: /ECONNREFUSED/ })
})

t.test('the connection goes to the address that was vetted, whatever DNS says later', async (t) => {
  const receiver = await startReceiver(t, () => ({ status: 204 }))
  const lookups: string[] = []
  // A name no system resolver knows: only the pinned answer can reach the server.
  const pusher = createHttpPusher({
    allowPrivate: true,
    timeoutMs: 5000,
    resolve: async (host) => {
      lookups.push(host)
      return [{ address: '127.0.0.1', family: 4 }]
    },
  })
  const result = await pusher.push(spec(`http://rebind.capsicum.invalid:${receiver.port}/hook`), 'k')
  t.strictSame(result, { outcome: 'succeeded', statusCode: 204, error: null })
  t.strictSame(lookups, ['rebind.capsicum.invalid'], 'resolved once, by the guard')
  t.equal(receiver.received[0]!.headers.host, `rebind.capsicum.invalid:${receiver.port}`, 'the Host header keeps the name')
})
