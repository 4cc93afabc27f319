/**
 * The HTTP push adapter against a real local HTTP server: what is sent, how answers are
 * sorted, and the SSRF guard (addresses refused, the vetted address pinned).
 */
import ipaddr from 'ipaddr.js'
import t from 'tap'
import { blockedReason, createHttpPusher } from '../../adapters/http-push.ts'
import { startReceiver } from '../helpers/deliveries.ts'

const spec = (url: string, over: object = {}) => ({ method: 'POST', url, headers: {}, payload: { temperature: 31 }, ...over })

/**
 * The IANA IPv4 and IPv6 special-purpose address registries (RFC 6890; as of the IPv6
 * registry's 2025 update), written out here rather than read from the code under test:
 * [block, name, RFC, an address inside, the reason the guard gives for it]. Every block is
 * refused, the globally reachable ones (marked GR) too; its first and last address as well.
 */
const ipv4Registry: readonly (readonly [string, string, string, string, string])[] = [
  ['0.0.0.0/8', '"This network"', 'RFC 791 §3.2', '0.1.2.3', 'unspecified'],
  ['0.0.0.0/32', '"This host on this network"', 'RFC 1122 §3.2.1.3', '0.0.0.0', 'unspecified'],
  ['10.0.0.0/8', 'Private-Use', 'RFC 1918', '10.20.30.40', 'private'],
  ['100.64.0.0/10', 'Shared Address Space', 'RFC 6598', '100.100.1.1', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'Loopback', 'RFC 1122 §3.2.1.3', '127.1.2.3', 'loopback'],
  ['169.254.0.0/16', 'Link Local', 'RFC 3927', '169.254.169.254', 'link-local'],
  ['172.16.0.0/12', 'Private-Use', 'RFC 1918', '172.20.1.1', 'private'],
  ['192.0.0.0/24', 'IETF Protocol Assignments', 'RFC 6890 §2.1', '192.0.0.100', 'IETF protocol assignment'],
  ['192.0.0.0/29', 'IPv4 Service Continuity Prefix', 'RFC 7335', '192.0.0.4', 'service continuity'],
  ['192.0.0.8/32', 'IPv4 dummy address', 'RFC 7600', '192.0.0.8', 'dummy'],
  ['192.0.0.9/32', 'Port Control Protocol Anycast (GR)', 'RFC 7723', '192.0.0.9', 'PCP anycast'],
  ['192.0.0.10/32', 'Traversal Using Relays around NAT Anycast (GR)', 'RFC 8155', '192.0.0.10', 'TURN anycast'],
  ['192.0.0.170/32', 'NAT64/DNS64 Discovery', 'RFC 8880, RFC 7050 §2.2', '192.0.0.170', 'NAT64 discovery'],
  ['192.0.0.171/32', 'NAT64/DNS64 Discovery', 'RFC 8880, RFC 7050 §2.2', '192.0.0.171', 'NAT64 discovery'],
  ['192.0.2.0/24', 'Documentation (TEST-NET-1)', 'RFC 5737', '192.0.2.55', 'documentation'],
  ['192.31.196.0/24', 'AS112-v4 (GR)', 'RFC 7535', '192.31.196.1', 'AS112'],
  ['192.52.193.0/24', 'AMT (GR)', 'RFC 7450', '192.52.193.7', 'AMT'],
  ['192.88.99.0/24', 'Deprecated (6to4 Relay Anycast)', 'RFC 7526', '192.88.99.1', '6to4 relay anycast'],
  ['192.88.99.2/32', '6a44-relay anycast address', 'RFC 6751', '192.88.99.2', '6to4 relay anycast'],
  ['192.168.0.0/16', 'Private-Use', 'RFC 1918', '192.168.1.1', 'private'],
  ['192.175.48.0/24', 'Direct Delegation AS112 Service (GR)', 'RFC 7534', '192.175.48.6', 'AS112'],
  ['198.18.0.0/15', 'Benchmarking', 'RFC 2544', '198.19.1.1', 'benchmarking'],
  ['198.51.100.0/24', 'Documentation (TEST-NET-2)', 'RFC 5737', '198.51.100.20', 'documentation'],
  ['203.0.113.0/24', 'Documentation (TEST-NET-3)', 'RFC 5737', '203.0.113.9', 'documentation'],
  ['240.0.0.0/4', 'Reserved', 'RFC 1112 §4', '250.1.2.3', 'reserved'],
  ['255.255.255.255/32', 'Limited Broadcast', 'RFC 8190, RFC 919 §7', '255.255.255.255', 'broadcast'],
  // not in the registry, refused as well
  ['224.0.0.0/4', 'Multicast', 'RFC 5771', '239.255.255.250', 'multicast'],
]

const ipv6Registry: readonly (readonly [string, string, string, string, string])[] = [
  ['::1/128', 'Loopback Address', 'RFC 4291', '::1', 'loopback'],
  ['::/128', 'Unspecified Address', 'RFC 4291', '::', 'unspecified'],
  // ::ffff:0:0/96 (RFC 4291) and 64:ff9b::/96 (RFC 6052, GR) carry an IPv4 address: see below
  ['64:ff9b:1::/48', 'IPv4-IPv6 Translat. (local-use)', 'RFC 8215', '64:ff9b:1::a9fe:a9fe', 'local-use NAT64'],
  ['100::/64', 'Discard-Only Address Block', 'RFC 6666', '100::1', 'discard-only'],
  ['100:0:0:1::/64', 'Dummy IPv6 Prefix', 'RFC 9780', '100:0:0:1::1', 'dummy'],
  ['2001::/23', 'IETF Protocol Assignments', 'RFC 2928', '2001:100::1', 'IETF protocol assignment'],
  ['2001::/32', 'TEREDO', 'RFC 4380, RFC 8190', '2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  ['2001:1::1/128', 'Port Control Protocol Anycast (GR)', 'RFC 7723', '2001:1::1', 'PCP anycast'],
  ['2001:1::2/128', 'Traversal Using Relays around NAT Anycast (GR)', 'RFC 8155', '2001:1::2', 'TURN anycast'],
  ['2001:1::3/128', 'DNS-SD Service Registration Protocol Anycast (GR)', 'RFC 9665', '2001:1::3', 'DNS-SD SRP anycast'],
  ['2001:2::/48', 'Benchmarking', 'RFC 5180', '2001:2:0:1::1', 'benchmarking'],
  ['2001:3::/32', 'AMT (GR)', 'RFC 7450', '2001:3:1::1', 'AMT'],
  ['2001:4:112::/48', 'AS112-v6 (GR)', 'RFC 7535', '2001:4:112::1', 'AS112'],
  ['2001:10::/28', 'Deprecated (previously ORCHID)', 'RFC 4843', '2001:12::1', 'ORCHID'],
  ['2001:20::/28', 'ORCHIDv2 (GR)', 'RFC 7343', '2001:2a::1', 'ORCHIDv2'],
  ['2001:30::/28', 'Drone Remote ID Protocol Entity Tags (GR)', 'RFC 9374', '2001:30:1::1', 'drone remote ID'],
  ['2001:db8::/32', 'Documentation', 'RFC 3849', '2001:db8:85a3::8a2e:370:7334', 'documentation'],
  // 2002::/16 (6to4, RFC 3056) carries an IPv4 address: see below
  ['2620:4f:8000::/48', 'Direct Delegation AS112 Service (GR)', 'RFC 7534', '2620:4f:8000::42', 'AS112'],
  ['3fff::/20', 'Documentation', 'RFC 9637', '3fff:abc::1', 'documentation'],
  ['5f00::/16', 'Segment Routing (SRv6) SIDs', 'RFC 9602', '5f00:1:2::3', 'SRv6 SID'],
  ['fc00::/7', 'Unique-Local', 'RFC 4193, RFC 8190', 'fd12:3456::1', 'private'],
  ['fe80::/10', 'Link-Local Unicast', 'RFC 4291', 'fe80::1', 'link-local'],
  // not in the registry, refused as well
  ['ff00::/8', 'Multicast', 'RFC 4291 §2.7', 'ff02::1', 'multicast'],
  ['fec0::/10', 'Site-local (deprecated)', 'RFC 3879', 'fec0::1', 'site-local'],
  ['::/96', 'IPv4-compatible (deprecated)', 'RFC 4291 §2.5.5.1', '::8.8.8.8', 'reserved'],
  ['::ffff:0:0:0/96', 'IPv4-translated (SIIT)', 'RFC 2765', '::ffff:0:808:808', 'reserved'],
  ['4000::/3', 'Reserved by IETF (outside 2000::/3 global unicast)', 'RFC 4291', '4000::1', 'reserved'],
  ['::2/127', 'Reserved by IETF (0000::/8)', 'RFC 4291', '::2', 'reserved'],
]

/**
 * IPv6 forms whose traffic goes to the IPv4 address inside them: judged by that address.
 * Decided: a public IPv4 inside the well-known NAT64 prefix (globally reachable, RFC 6052),
 * inside 6to4 or IPv4-mapped is let through, as the IPv4 address itself would be.
 */
const carriers: Record<string, string | null> = {
  '::ffff:127.0.0.1': 'IPv4-mapped loopback',
  '::ffff:7f00:1': 'IPv4-mapped loopback',
  '::ffff:10.0.0.1': 'IPv4-mapped private',
  '::ffff:169.254.169.254': 'IPv4-mapped link-local',
  '::ffff:0.0.0.0': 'IPv4-mapped unspecified',
  '::ffff:255.255.255.255': 'IPv4-mapped broadcast',
  '::ffff:192.0.0.9': 'IPv4-mapped PCP anycast',
  '::ffff:8.8.8.8': null,
  '64:ff9b::a9fe:a9fe': 'NAT64 link-local',
  '64:ff9b::10.1.2.3': 'NAT64 private',
  '64:ff9b::127.0.0.1': 'NAT64 loopback',
  '64:ff9b::': 'NAT64 unspecified',
  '64:ff9b::ffff:ffff': 'NAT64 broadcast',
  '64:ff9b::198.51.100.1': 'NAT64 documentation',
  '64:ff9b::808:808': null,
  '2002:c0a8:101::1': '6to4 private',
  '2002:7f00:1::1': '6to4 loopback',
  '2002:a9fe:a9fe::1': '6to4 link-local',
  '2002::': '6to4 unspecified',
  '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff': '6to4 broadcast',
  '2002:808:808::1': null,
  // Teredo: refused whatever its server and (obfuscated) client addresses
  '2001:0:4136:e378::f5ff:fffe': 'Teredo',
  '2001:0:a00:1::1': 'Teredo',
}

/** Just outside the refused blocks, and ordinary public addresses. */
const publicAddresses = [
  '1.1.1.1', '8.8.8.8', '93.184.216.34', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255',
  '128.0.0.0', '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '191.255.255.255', '192.0.1.0',
  '192.0.3.0', '192.88.98.255', '192.88.100.0', '192.167.255.255', '192.169.0.0', '198.17.255.255', '198.20.0.0',
  '223.255.255.255',
  '2606:4700::1111', '2001:4860:4860::8888', '2001:200::1', '2001:db7:ffff::1', '2001:db9::1', '2620:4f:7fff::1',
  '2620:4f:8001::1', '3fff:1000::1', '3ffe:ffff::1', '2003::1',
]

/** The first and the last address of a block. */
function edges(cidr: string): string[] {
  const family = ipaddr.parseCIDR(cidr)[0].kind() === 'ipv4' ? ipaddr.IPv4 : ipaddr.IPv6
  return [family.networkAddressFromCIDR(cidr).toString(), family.broadcastAddressFromCIDR(cidr).toString()]
}

t.test('every special-purpose block of the IANA registries is refused', async (t) => {
  for (const [cidr, name, rfc, inside, reason] of [...ipv4Registry, ...ipv6Registry]) {
    t.equal(blockedReason(inside), reason, `${cidr} ${name} (${rfc}): ${inside} is refused as ${reason}`)
    for (const edge of edges(cidr)) t.not(blockedReason(edge), null, `${cidr} ${name} (${rfc}): ${edge} is refused`)
  }
})

t.test('an IPv4 address inside an IPv6 form is judged by that IPv4 address', async (t) => {
  for (const [address, reason] of Object.entries(carriers)) t.equal(blockedReason(address), reason, `${address}: ${reason ?? 'public'}`)
})

t.test('public addresses, also right next to the refused blocks, pass', async (t) => {
  for (const address of publicAddresses) t.equal(blockedReason(address), null, `${address} is public`)
  t.equal(blockedReason('fe80::1%eth0'), 'link-local', 'a zone id is dropped')
  t.equal(blockedReason('not-an-address'), 'unparseable')
  t.equal(blockedReason('::127.0.0.1'), 'reserved', 'the IPv4-compatible spelling is not read as IPv4-mapped (a socket reaches ::7f00:1)')
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
  const localUseNat64 = await pusher.push(spec('http://[64:ff9b:1::a9fe:a9fe]/latest/meta-data/'), 'k3b')
  t.match(localUseNat64, { outcome: 'rejected', error: /refused: 64:ff9b:1::a9fe:a9fe is a local-use NAT64 address/ }, 'the metadata address in RFC 8215 local-use NAT64')
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
